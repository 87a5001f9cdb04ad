package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime/debug"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
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

// envPrefix starts the environment variable of every flag:
// --time-zone is PARQUETRAIL_TIME_ZONE.
const envPrefix = "PARQUETRAIL_"

func envName(flag string) string {
	return envPrefix + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

const rootLong = `shard-worker converts one day of AWS CloudTrail logs (the json.gz files a trail
delivers to S3) into flattened, time-ordered Parquet, partitioned by proc_ymd.

"run" does a whole day in this process, on a local folder or a bucket. The
operator runs the same day as stages in its pods: "plan", then "flatten" once per
shard, then "merge".

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
		Version:                    versionString(),
		Args:                       noArgs,
		SuggestionsMinimumDistance: 2,
		SilenceErrors:              true,
		SilenceUsage:               true,
		// Without a command: the help, and a usage error.
		RunE: func(cmd *cobra.Command, args []string) error {
			cmd.SetOut(a.stderr)
			_ = cmd.Usage()
			return usageError{errors.New("a command is required")}
		},
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			if err := a.applyEnv(cmd); err != nil {
				return err
			}
			return a.setupLogging()
		},
	}
	root.SetUsageTemplate(usageTemplate)
	root.SetOut(a.stdout)
	root.SetErr(a.stderr)
	root.SetVersionTemplate("shard-worker {{.Version}}\n")
	root.PersistentFlags().StringVar(&a.logFormat, "log-format", "text", "log and error format on stderr: text or json")
	root.AddGroup(
		&cobra.Group{ID: "convert", Title: "Convert a day:"},
		&cobra.Group{ID: "stages", Title: "Stages the operator's Jobs run:"},
		&cobra.Group{ID: "schema", Title: "Columns and tables:"},
		&cobra.Group{ID: "other", Title: "Other commands:"},
	)
	root.SetHelpCommandGroupID("other")
	root.SetCompletionCommandGroupID("other")
	root.SetFlagErrorFunc(flagError)
	for _, c := range []*cobra.Command{
		a.runCommand(), a.planCommand(), a.flattenCommand(), a.mergeCommand(),
		a.columnsCommand(), a.athenaCommand(), a.versionCommand(),
	} {
		root.AddCommand(c)
	}
	root.InitDefaultCompletionCmd()
	root.InitDefaultHelpCmd()
	// Name each flag's variable in its help, once every command has its flags.
	var annotate func(c *cobra.Command)
	annotate = func(c *cobra.Command) {
		c.Flags().SortFlags = false
		for _, fs := range []*pflag.FlagSet{c.LocalNonPersistentFlags(), c.PersistentFlags()} {
			fs.VisitAll(func(f *pflag.Flag) {
				if f.Name != "help" && f.Name != "version" && !strings.Contains(f.Usage, envPrefix) {
					f.Usage += " [$" + envName(f.Name) + "]"
				}
			})
		}
		for _, s := range c.Commands() {
			annotate(s)
		}
	}
	annotate(root)
	return root
}

// noArgs refuses arguments: at the root an unknown command (with the
// commands it may have meant), elsewhere a stray argument.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	hint := helpHint{text: fmt.Sprintf("Run '%s --help' for usage.", cmd.CommandPath())}
	if !cmd.HasParent() {
		msg := fmt.Sprintf("unknown command %q", args[0])
		if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
			msg += "\n\nDid you mean this?\n\t" + strings.Join(s, "\n\t") + "\n"
		}
		hint.error = errors.New(msg)
	} else {
		hint.error = fmt.Errorf("unexpected argument %q (%s takes flags only)", args[0], cmd.Name())
	}
	return usageError{hint}
}

// applyEnv sets every flag of cmd that the command line left alone from its
// environment variable, if that is set.
func (a *app) applyEnv(cmd *cobra.Command) error {
	var errs []error
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		if f.Changed || f.Name == "help" || f.Name == "version" {
			return
		}
		v, ok := a.getenv(envName(f.Name))
		if !ok {
			return
		}
		if err := cmd.Flags().Set(f.Name, v); err != nil {
			errs = append(errs, fmt.Errorf("%s=%q: %w", envName(f.Name), v, err))
		}
	})
	if err := errors.Join(errs...); err != nil {
		return usageError{err}
	}
	return nil
}

func (a *app) setupLogging() error {
	opts := &slog.HandlerOptions{}
	switch a.logFormat {
	case "text":
		a.log = slog.New(slog.NewTextHandler(a.stderr, opts))
	case "json":
		a.jsonLogs = true
		a.log = slog.New(slog.NewJSONHandler(a.stderr, opts))
	default:
		return usageError{fmt.Errorf("--log-format %q: want text or json", a.logFormat)}
	}
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

// flagError turns a bad flag into a short usage error with a suggestion,
// not the command's whole flag list.
func flagError(cmd *cobra.Command, err error) error {
	msg := err.Error()
	hint := fmt.Sprintf("Run '%s --help' for its flags.", cmd.CommandPath())
	if name, ok := strings.CutPrefix(msg, "unknown flag: --"); ok {
		if s := suggestFlag(cmd, name); s != "" {
			msg += fmt.Sprintf("\n\nDid you mean this?\n\t--%s\n", s)
		}
	} else if sh, ok := strings.CutPrefix(msg, "unknown shorthand flag: "); ok {
		// "'x' in -xyz": single-dash long flags as Go's flag package took them.
		if i := strings.Index(sh, " in -"); i >= 0 {
			name := strings.TrimPrefix(sh[i+len(" in "):], "-")
			if cmd.Flags().Lookup(name) != nil {
				msg += fmt.Sprintf("\n\nFlags take two dashes: --%s\n", name)
			} else if s := suggestFlag(cmd, name); s != "" {
				msg += fmt.Sprintf("\n\nDid you mean this?\n\t--%s\n", s)
			}
		}
	}
	return usageError{helpHint{errors.New(msg), hint}}
}

// suggestFlag returns the visible flag of cmd closest to name, if close.
func suggestFlag(cmd *cobra.Command, name string) string {
	best, bestD := "", 3
	var names []string
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		if !f.Hidden {
			names = append(names, f.Name)
		}
	})
	sort.Strings(names)
	for _, n := range names {
		d := levenshtein(name, n)
		if strings.HasPrefix(n, name) && len(name) >= 3 {
			d = min(d, 1)
		}
		if d < bestD {
			best, bestD = n, d
		}
	}
	return best
}

func levenshtein(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// versionString is the -ldflags version, or else what the Go toolchain
// recorded: the module version (go install pkg@v1.2.3), or the commit and
// its time for a build from a checkout.
func versionString() string {
	if version != "" {
		return version
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown (no build info)"
	}
	v := bi.Main.Version
	var rev, at string
	dirty := false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.time":
			at = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if v == "" || v == "(devel)" {
		v = "devel"
	}
	if rev != "" {
		if len(rev) > 12 {
			rev = rev[:12]
		}
		v += " " + rev
		if dirty {
			v += "-dirty"
		}
		if at != "" {
			v += " " + at
		}
	}
	return v + " " + bi.GoVersion
}

// usageTemplate is cobra's, with a command's flags under the headings
// their "group" annotation names (see group), in the order registered.
const usageTemplate = `Usage:{{if .Runnable}}
  {{.UseLine}}{{end}}{{if .HasAvailableSubCommands}}
  {{.CommandPath}} [command]{{end}}{{if .HasExample}}

Examples:
{{.Example}}{{end}}{{if .HasAvailableSubCommands}}{{$cmds := .Commands}}{{range $group := .Groups}}

{{.Title}}{{range $cmds}}{{if (and (eq .GroupID $group.ID) (or .IsAvailableCommand (eq .Name "help")))}}
  {{rpad .Name .NamePadding }} {{.Short}}{{end}}{{end}}{{end}}{{end}}{{if .HasAvailableLocalFlags}}{{flagGroups .}}{{end}}{{if .HasAvailableInheritedFlags}}

Global Flags:
{{wrappedFlags .InheritedFlags | trimTrailingWhitespaces}}{{end}}{{if .HasAvailableSubCommands}}

Use "{{.CommandPath}} [command] --help" for more information about a command.{{end}}
`

const helpWidth = 100

func init() {
	cobra.AddTemplateFunc("flagGroups", flagGroups)
	cobra.AddTemplateFunc("wrappedFlags", func(fs *pflag.FlagSet) string { return fs.FlagUsagesWrapped(helpWidth) })
}

// flagGroups prints the command's own flags under their headings.
func flagGroups(cmd *cobra.Command) string {
	var order []string
	sets := map[string]*pflag.FlagSet{}
	cmd.LocalFlags().VisitAll(func(f *pflag.Flag) {
		if f.Hidden {
			return
		}
		g := "Flags"
		if v := f.Annotations["group"]; len(v) > 0 {
			g = v[0] + " flags"
		}
		fs := sets[g]
		if fs == nil {
			fs = pflag.NewFlagSet(g, pflag.ContinueOnError)
			fs.SortFlags = false
			sets[g] = fs
			order = append(order, g)
		}
		fs.AddFlag(f)
	})
	var b strings.Builder
	for _, g := range order {
		b.WriteString("\n\n" + g + ":\n")
		b.WriteString(strings.TrimRight(sets[g].FlagUsagesWrapped(helpWidth), "\n"))
	}
	return b.String()
}
