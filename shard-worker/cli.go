package main

import (
	"errors"
	"io"
	"log/slog"

	"github.com/spf13/cobra"

	"github.com/parquetrail/parquetrail/internal/cli"
	"github.com/parquetrail/parquetrail/internal/problem"
)

// app is one invocation: where output goes, how the environment is read,
// and the logger its --log-format chose.
type app struct {
	stdout, stderr io.Writer
	getenv         func(string) (string, bool)
	logFormat      string
	jsonLogs       bool
	log            *slog.Logger
}

const rootLong = `shard-worker converts one day of AWS CloudTrail logs (the json.gz files a trail
delivers to S3) into flattened, time-ordered Parquet, partitioned by proc_ymd.

"run" does a whole day in this process, on a local folder or a bucket. The
operator runs the same day as stages in its pods: "plan", then "flatten" once per
shard, then "merge"; a large day is merged by time range in several pods
("merge-plan", "merge --ranges" once per range, then "publish").

Every flag can also be set from an environment variable PARQUETRAIL_<FLAG>,
upper case with _ for -: --time-zone is PARQUETRAIL_TIME_ZONE. A flag on the
command line wins over the variable, and the variable over the default.

Exit codes: 0 done, 1 failed (a retry may help), 2 usage or settings,
3 bad input that a retry cannot fix.`

func (a *app) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "shard-worker",
		Short: "Convert a day of AWS CloudTrail logs into Parquet",
		Long:  rootLong,
		Example: `  # convert a day on this machine: a folder or a bucket in, a folder or a bucket out
  shard-worker run --source s3://my-trail-bucket --destination s3://my-lake/cloudtrail \
    --date 2026-11-24 --time-zone Asia/Seoul

  # the Athena table for what it wrote
  shard-worker athena --location s3://my-lake/cloudtrail

  # shell completion (bash, zsh or fish)
  source <(shard-worker completion bash)`,
		Version: cli.Version(version),
		Args:    cli.NoArgs,
		// Without a command: the help, and a usage error.
		RunE: func(cmd *cobra.Command, args []string) error {
			cmd.SetOut(a.stderr)
			_ = cmd.Usage()
			return problem.Usage(errors.New("a command is required"))
		},
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			if err := cli.ApplyEnv(cmd, a.getenv); err != nil {
				return err
			}
			return a.setupLogging()
		},
	}
	cli.LogFormatFlag(root.PersistentFlags(), &a.logFormat, "text")
	root.AddGroup(
		&cobra.Group{ID: "convert", Title: "Convert a day:"},
		&cobra.Group{ID: "stages", Title: "Stages the operator's Jobs run:"},
		&cobra.Group{ID: "schema", Title: "Columns and tables:"},
		&cobra.Group{ID: "other", Title: "Other commands:"},
	)
	root.SetHelpCommandGroupID("other")
	root.SetCompletionCommandGroupID("other")
	for _, c := range []*cobra.Command{
		a.runCommand(), a.planCommand(), a.flattenCommand(), a.mergeCommand(), a.mergePlanCommand(), a.publishCommand(),
		a.columnsCommand(), a.athenaCommand(), a.versionCommand(),
	} {
		root.AddCommand(c)
	}
	cli.Setup(root, a.stdout, a.stderr)
	return root
}

func (a *app) setupLogging() error {
	log, err := cli.NewLogger(a.logFormat, a.stderr)
	if err != nil {
		return err
	}
	a.log, a.jsonLogs = log, a.logFormat == "json"
	return nil
}

func (a *app) logger() *slog.Logger {
	if a.log == nil {
		_ = a.setupLogging()
	}
	if a.log == nil {
		a.log = slog.New(slog.NewTextHandler(a.stderr, nil))
	}
	return a.log
}
