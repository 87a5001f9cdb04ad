package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/parquetrail/parquetrail/internal/athena"
	"github.com/parquetrail/parquetrail/internal/cli"
	"github.com/parquetrail/parquetrail/internal/commit"
	"github.com/parquetrail/parquetrail/internal/defaults"
	"github.com/parquetrail/parquetrail/internal/pipeline"
	"github.com/parquetrail/parquetrail/internal/plan"
	"github.com/parquetrail/parquetrail/internal/problem"
	"github.com/parquetrail/parquetrail/internal/record"
	"github.com/parquetrail/parquetrail/internal/store"
	"github.com/parquetrail/parquetrail/internal/window"
)

// storeFlags are the settings for reaching S3-compatible stores; the SDK's
// standard chain (environment, profile, IRSA, Pod Identity) supplies the rest.
type storeFlags struct {
	srcEndpoint, dstEndpoint string
	region                   string
	pathStyle                bool
	maxAttempts              int
	requestTimeout, idle     time.Duration
}

func (s *storeFlags) register(fs *pflag.FlagSet, source bool) {
	names := []string{"destination-endpoint", "region", "path-style"}
	if source {
		fs.StringVar(&s.srcEndpoint, "source-endpoint", "", "S3 endpoint URL of the source, for S3-compatible stores")
		names = append(names, "source-endpoint")
	}
	fs.StringVar(&s.dstEndpoint, "destination-endpoint", "", "S3 endpoint URL of the destination, for S3-compatible stores")
	fs.StringVar(&s.region, "region", "", "AWS region (default: the SDK's configuration chain)")
	fs.BoolVar(&s.pathStyle, "path-style", false, "address buckets path-style (most S3-compatible stores)")
	fs.IntVar(&s.maxAttempts, "max-attempts", 0, "attempts per S3 request and object read (default: AWS_MAX_ATTEMPTS, the profile's max_attempts, else 3)")
	fs.DurationVar(&s.requestTimeout, "request-timeout", 0, "longest S3 request attempt, body included (default 5m)")
	fs.DurationVar(&s.idle, "idle-timeout", 0, "fail an S3 request attempt after this long without a byte (default 30s)")
	cli.Group(fs, "Store", append(names, "max-attempts", "request-timeout", "idle-timeout")...)
}

func (s *storeFlags) stores() pipeline.Stores {
	o := store.Options{Region: s.region, PathStyle: s.pathStyle,
		MaxAttempts: s.maxAttempts, RequestTimeout: s.requestTimeout, IdleTimeout: s.idle}
	src, dst := o, o
	src.Endpoint, dst.Endpoint = s.srcEndpoint, s.dstEndpoint
	return pipeline.Stores{Source: src, Destination: dst}
}

type dayFlags struct {
	cfg      pipeline.Config
	late     lateArrival
	accounts string
	regions  string
	shardMiB int64
	st       storeFlags
}

func (d *dayFlags) register(fs *pflag.FlagSet) {
	c := &d.cfg
	fs.StringVar(&c.Source, "source", "", "where the trail's logs are: a folder or s3://bucket[/prefix] (above AWSLogs/)")
	fs.StringVar(&c.Destination, "destination", "", "where the Parquet goes: a folder or s3://bucket[/prefix]")
	fs.StringVar(&c.Date, "date", "", "the day, YYYY-MM-DD, in --time-zone")
	fs.StringVar(&c.TimeZone, "time-zone", defaults.TimeZone, "IANA time zone of the day, e.g. Asia/Seoul")
	d.late = lateArrival{d: defaults.LateArrival}
	fs.Var(&d.late, "late-arrival", `how long after the day's end a file may be delivered and still be read, or "folder": to the end of the last UTC date folder the day touches, as the Spark job read`)
	fs.StringVar(&c.OrgID, "organization-id", "", "Organization trail ID (o-...); default: discover")
	fs.StringVar(&d.accounts, "accounts", "", "comma-separated account IDs; default: discover")
	fs.StringVar(&d.regions, "regions", "", "comma-separated regions; default: discover")
	fs.BoolVar(&c.AllowOpenWindow, "allow-open-window", false, "run a day whose window plus late-arrival margin has not closed yet")
	cli.Group(fs, "Day", "source", "destination", "date", "time-zone", "late-arrival", "organization-id", "accounts", "regions", "allow-open-window")

	fs.StringVar(&c.Columns, "columns", defaults.Columns, "column set: full (every field, lossless) or seed (the Spark job's 41 columns)")
	typesFlag(fs, &c.Types)
	fs.StringVar(&c.LocalTimeColumn, "local-time-column", defaults.LocalTimeColumn, "name of the local-time column (the Spark job's: eventtime_kst)")
	fs.StringVar(&c.Compression, "compression", defaults.Compression, "Parquet compression: zstd, snappy, gzip or none")
	fs.BoolVar(&c.Deduplicate, "deduplicate", defaults.Deduplicate, "drop a record whose eventID and eventTime were already written")
	fs.StringVar(&c.OnMalformed, "on-malformed", defaults.OnMalformed, "what a malformed record or unreadable object does: fail the day, or report it and go on")
	fs.IntVar(&c.KeepRuns, "keep-runs", pipeline.DefaultKeepRuns, "keep the report and error files of this many runs of a day (0: all)")
	fs.StringVar(&c.LateEvents, "late-events", defaults.LateEvents, "events read after their own day's late-arrival margin: write them into their own day, or count them only")
	fs.BoolVar(&c.AllowEmpty, "allow-empty", defaults.AllowEmpty, "publish an empty day when no log file is selected (default: fail, keeping the published day)")
	cli.Group(fs, "Output", "columns", "types", "local-time-column", "compression", "deduplicate", "on-malformed", "keep-runs", "late-events", "allow-empty")

	fs.BoolVar(&c.VerifyIntegrity, "verify-integrity", false, "verify every selected file against CloudTrail's signed digest files (needs log file validation on the trail)")
	fs.StringVar(&c.PublicKeys, "public-keys", "", "PEM bundle of CloudTrail's public keys, instead of the ListPublicKeys API (offline)")
	fs.StringVar(&c.OnIntegrity, "on-integrity", defaults.OnIntegrity, "what a file or digest that does not verify does: fail the day, or report it and go on")
	cli.Group(fs, "Integrity", "verify-integrity", "public-keys", "on-integrity")

	fs.Int64Var(&d.shardMiB, "shard-size", 0, "target compressed MiB per shard (default: 32 for run, 256 for plan)")
	fs.DurationVar(&c.Lease.TTL, "lease-ttl", 0, "how long the day's lease lasts without renewal; a killed run blocks the day this long (default 1m)")
	cli.Group(fs, "Work", "shard-size", "lease-ttl")
	d.st.register(fs, true)
}

func (d *dayFlags) config() pipeline.Config {
	c := d.cfg
	c.Accounts = splitList(d.accounts)
	c.Regions = splitList(d.regions)
	c.TargetShardBytes = d.shardMiB << 20
	c.Stores = d.st.stores()
	d.late.apply(&c)
	if c.KeepRuns == 0 {
		c.KeepRuns = -1 // the flag's 0 is "all"; the config's 0 is the default
	}
	return c
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func (a *app) runCommand() *cobra.Command {
	var d dayFlags
	var asJSON, quiet bool
	var cpuProfile string
	cmd := &cobra.Command{
		Use:     "run --source SRC --destination DST --date YYYY-MM-DD [flags]",
		Short:   "Convert a whole day in this process",
		GroupID: "convert",
		Long: `Convert one day in this process: list the day's log files, flatten them on every
core, merge the parts into the day's partition <destination>/proc_ymd=YYYYMMDD/,
then print the day's summary (records read = written + outside the window +
duplicates + malformed).

SRC and DST are a local folder or s3://bucket[/prefix]; SRC is the folder above
AWSLogs/. Credentials and region come from the AWS SDK's standard chain.
Progress goes to stderr: a live line on a terminal, a log line every 10 s
otherwise.`,
		Example: `  # a KST day, the Spark job's 41 columns, from a bucket to a bucket
  shard-worker run --source s3://my-trail-bucket --destination s3://my-lake/cloudtrail \
    --date 2026-11-24 --time-zone Asia/Seoul --columns seed --local-time-column eventtime_kst

  # a drop-in for the Spark job's table: its types, its late files
  shard-worker run --source s3://my-trail-bucket --destination s3://my-lake/cloudtrail_kst \
    --date 2026-11-24 --time-zone Asia/Seoul --columns seed --local-time-column eventtime_kst \
    --types spark --late-arrival folder

  # from a MinIO or other S3-compatible store, settings from the environment
  PARQUETRAIL_SOURCE_ENDPOINT=http://127.0.0.1:9000 PARQUETRAIL_PATH_STYLE=true \
    shard-worker run --source s3://trail --destination ./out --date 2026-11-24 --json`,
		Args: cli.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c := d.config()
			if c.Source == "" || c.Destination == "" || c.Date == "" {
				return problem.Usage(errors.New("run needs --source, --destination and --date"))
			}
			c.Defaults()
			if err := c.Validate(); err != nil {
				return problem.Usage(err)
			}
			if cpuProfile != "" {
				f, err := os.Create(cpuProfile)
				if err != nil {
					return err
				}
				defer f.Close()
				if err := pprof.StartCPUProfile(f); err != nil {
					return err
				}
				defer pprof.StopCPUProfile()
			}
			var pr *progress
			if !quiet {
				pr = a.startProgress()
				c.Progress = pr.update
			}
			s, err := pipeline.Run(cmd.Context(), c)
			if pr != nil {
				pr.end()
			}
			a.printSummary(s, asJSON)
			return err
		},
	}
	fs := cmd.Flags()
	d.register(fs)
	fs.IntVar(&d.cfg.Workers, "workers", 0, "shards flattened at once (default: all cores)")
	fs.IntVar(&d.cfg.MergeWorkers, "merge-workers", 1, "ranges of event time merged at once, published as one day (1: one merge of the whole day, which already encodes on every core; each more range needs about 200 MiB more: raise GOMEMLIMIT with it)")
	fs.BoolVar(&asJSON, "json", false, "print the summary as one JSON object")
	fs.BoolVar(&quiet, "quiet", false, "no progress on stderr")
	cli.Group(fs, "Work", "workers", "merge-workers", "json", "quiet")
	fs.StringVar(&cpuProfile, "cpu-profile", "", "write a CPU profile of the run to this file (go tool pprof)")
	_ = fs.MarkHidden("cpu-profile")
	return cmd
}

func (a *app) printSummary(s *plan.Report, asJSON bool) {
	if s == nil {
		return
	}
	if asJSON {
		_ = s.WriteJSON(a.stdout)
	} else {
		_ = s.WriteText(a.stdout)
	}
}

func (a *app) planCommand() *cobra.Command {
	var d dayFlags
	var maxShards int
	var quiet bool
	var runID string
	var rivals []string
	cmd := &cobra.Command{
		Use:     "plan --source SRC --destination DST --date YYYY-MM-DD [flags]",
		Short:   "List a day's log files and pack them into shards",
		GroupID: "stages",
		Long: `List the UTC date folders the day touches, select the day's log files and pack
them into shards; write the plan to the destination's staging area and print its
key. The operator runs it as the day's plan Job, with the run ID it chose
(--run-id): a plan already written for that run is kept, so that a retried pod
never plans other shards than a flatten Job may run.`,
		Example: `  shard-worker plan --source s3://my-trail-bucket --destination s3://my-lake/cloudtrail \
    --date 2026-11-24 --time-zone Asia/Seoul --max-shards 40`,
		Args: cli.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c := d.config()
			if c.Source == "" || c.Destination == "" || c.Date == "" {
				return problem.Usage(errors.New("plan needs --source, --destination and --date"))
			}
			c.Defaults()
			if c.TargetShardBytes == 0 {
				c.TargetShardBytes = 256 << 20
			}
			if err := c.Validate(); err != nil {
				return problem.Usage(err)
			}
			ctx := cmd.Context()
			src, err := store.Open(ctx, c.Source, c.Stores.Source)
			if err != nil {
				return err
			}
			dst, err := store.Open(ctx, c.Destination, c.Stores.Destination)
			if err != nil {
				return err
			}
			if !quiet {
				pr := a.startProgress()
				c.Progress = pr.update
				defer pr.end()
			}
			if runID == "" {
				runID = plan.NewRunID(time.Now())
			} else if p, sum, err := plan.Read(ctx, dst, plan.PlanKey(ymd(c), runID)); err == nil {
				fmt.Fprintf(a.stdout, "plan %s (kept)\nsha256 %s\nshards %d\nobjects %d (%d bytes)\n", plan.PlanKey(p.YMD(), runID), sum, len(p.Shards), p.Counts.Selected, p.Counts.SelectedBytes)
				return nil
			} else if !store.IsNotExist(err) {
				return fmt.Errorf("reading the plan of run %s: %w", runID, err)
			}
			p, key, sum, err := planDay(ctx, c, src, dst, runID, rivals, maxShards)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "plan %s\nsha256 %s\nshards %d\nobjects %d (%d bytes)\n", key, sum, len(p.Shards), p.Counts.Selected, p.Counts.SelectedBytes)
			return nil
		},
	}
	fs := cmd.Flags()
	d.register(fs)
	fs.IntVar(&maxShards, "max-shards", 0, "at most this many shards (raises the shard size; 0: no cap)")
	fs.IntVar(&d.cfg.ListConcurrency, "list-concurrency", 0, "listing requests in flight (default 16)")
	fs.BoolVar(&quiet, "quiet", false, "no progress on stderr")
	fs.StringVar(&runID, "run-id", "", "the run the plan is for (default: a new one); a plan already written for it is kept")
	fs.StringSliceVar(&rivals, "rivals", nil, "day parts of the run IDs of other days publishing the same partition, whose output this run does not replace (set by the operator)")
	cli.Group(fs, "Work", "max-shards", "list-concurrency", "quiet", "run-id", "rivals")
	return cmd
}

// ymd is the day's yyyyMMdd; the config is valid.
func ymd(c pipeline.Config) string {
	d, _ := window.New(c.Date, c.TimeZone)
	return d.YMD()
}

// planDay plans the day; on bad input (an integrity check that failed the
// day, among others) it leaves the problem and the integrity report at
// plan.PlanFailureKey for the operator to name in the day's status.
func planDay(ctx context.Context, c pipeline.Config, src, dst store.Store, runID string, rivals []string, maxShards int) (*plan.Plan, string, string, error) {
	c.Rivals = rivals
	p, key, sum, err := pipeline.PlanDay(ctx, c, src, dst, runID, maxShards)
	if err == nil || !errors.Is(err, problem.ErrBadInput) {
		return p, key, sum, err
	}
	f := &plan.PlanFailure{Error: err.Error()}
	if p != nil {
		f.Integrity = p.Integrity
	}
	if werr := plan.WritePlanFailure(ctx, dst, plan.PlanFailureKey(ymd(c), runID), f); werr != nil {
		return nil, "", "", errors.Join(err, fmt.Errorf("writing the plan's failure: %w", werr))
	}
	return nil, "", "", err
}

func openPlan(cmd *cobra.Command, dstURL, key string, st storeFlags) (*plan.Plan, store.Store, store.Store, error) {
	if dstURL == "" || key == "" {
		return nil, nil, nil, problem.Usage(errors.New("--destination and --plan are required"))
	}
	ctx := cmd.Context()
	opts := st.stores()
	dst, err := store.Open(ctx, dstURL, opts.Destination)
	if err != nil {
		return nil, nil, nil, err
	}
	p, _, err := plan.Read(ctx, dst, key)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("reading the plan %s: %w", key, err)
	}
	src, err := store.Open(ctx, p.Source, opts.Source)
	if err != nil {
		return nil, nil, nil, err
	}
	return p, src, dst, nil
}

func (a *app) flattenCommand() *cobra.Command {
	var dstURL, key string
	var index optionalInt
	var st storeFlags
	var quiet bool
	cmd := &cobra.Command{
		Use:     "flatten --destination DST --plan KEY [--index N]",
		Short:   "Flatten one shard of a plan into a Parquet part",
		GroupID: "stages",
		Long: `Flatten one shard of a plan: read its log files, keep the day's records and
write them as a sorted Parquet part in staging, with a result file of its counts.
In the operator's Indexed Job the shard is the pod's JOB_COMPLETION_INDEX.`,
		Example: `  shard-worker flatten --destination s3://my-lake/cloudtrail \
    --plan _parquetrail/staging/proc_ymd=20261124/<run>/plan.json --index 0`,
		Args: cli.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			i, err := a.jobIndex(index, "shard")
			if err != nil {
				return err
			}
			p, src, dst, err := openPlan(cmd, dstURL, key, st)
			if err != nil {
				return err
			}
			var fn func(records, bytes int64)
			if !quiet && i < len(p.Shards) {
				pr := a.startProgress()
				defer pr.end()
				began, total := time.Now(), p.Shards[i].Bytes
				fn = func(records, bytes int64) {
					pr.update(pipeline.Progress{Stage: "flatten", ShardsTotal: 1, RecordsRead: records, BytesRead: bytes, BytesTotal: total, Elapsed: time.Since(began)})
				}
			}
			res, err := pipeline.FlattenShardProgress(cmd.Context(), p, i, src, dst, 1, fn)
			if res != nil {
				fmt.Fprintf(a.stdout, "shard %d: %d objects, records read %d, written %d, outside %d, malformed %d\n",
					i, res.Objects, res.Read, res.Written, res.Outside, res.Malformed)
			}
			return err
		},
	}
	fs := cmd.Flags()
	planFlags(fs, &dstURL, &key)
	fs.Var(&index, "index", "shard index (default: $JOB_COMPLETION_INDEX)")
	fs.BoolVar(&quiet, "quiet", false, "no progress on stderr")
	cli.Group(fs, "Shard", "destination", "plan", "index", "quiet")
	st.register(fs, true)
	return cmd
}

// jobIndex is --index, else the pod's JOB_COMPLETION_INDEX.
func (a *app) jobIndex(index optionalInt, what string) (int, error) {
	if index.set {
		return index.v, nil
	}
	v, ok := a.getenv("JOB_COMPLETION_INDEX")
	if !ok || v == "" {
		return 0, problem.Usage(errors.New("no --index and no JOB_COMPLETION_INDEX"))
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, problem.Usage(fmt.Errorf("JOB_COMPLETION_INDEX %q is not a %s index", v, what))
	}
	return n, nil
}

// rangesFlag is --ranges: the bounds of a range-partitioned merge.
type rangesFlag struct{ b []int }

func (r *rangesFlag) String() string { return plan.FormatBounds(r.b) }
func (r *rangesFlag) Set(s string) error {
	b, err := plan.ParseBounds(s)
	r.b = b
	return err
}
func (r *rangesFlag) Type() string { return "bounds" }

const rangesHelp = "split the merge by event time at these bounds (numbers of the day's 5-minute ranges, from shard-worker merge-plan): index i merges [b[i], b[i+1])"

// planFlags registers --destination and --plan, which name the plan a
// stage's Job runs.
func planFlags(fs *pflag.FlagSet, dstURL, key *string) {
	fs.StringVar(dstURL, "destination", "", "the destination store holding the plan")
	fs.StringVar(key, "plan", "", "key of the plan manifest in the destination")
}

func (a *app) mergeCommand() *cobra.Command {
	var dstURL, key string
	var asJSON, quiet bool
	var st storeFlags
	var leaseTTL time.Duration
	var ranges rangesFlag
	var index optionalInt
	cmd := &cobra.Command{
		Use:     "merge --destination DST --plan KEY [--ranges B --index N]",
		Short:   "Merge a plan's parts into the day's partition",
		GroupID: "stages",
		Long: `Merge the parts of every shard of a plan into the day's partition: order by
eventtime, drop duplicate events, write the files and the manifest, replace the
previous run's files, write the run's report and remove staging.

With --ranges, the day is split by event time and this merges one range (the
pod's JOB_COMPLETION_INDEX in the operator's Indexed Job, or --index) into
staging, reading only the parts' row groups that reach into it; nothing is
published until shard-worker publish joins the ranges.`,
		Example: `  shard-worker merge --destination s3://my-lake/cloudtrail \
    --plan _parquetrail/staging/proc_ymd=20261124/<run>/plan.json --json

  # one range of a day split in three
  shard-worker merge --destination s3://my-lake/cloudtrail \
    --plan _parquetrail/staging/proc_ymd=20261124/<run>/plan.json --ranges 0,96,190,288 --index 1`,
		Args: cli.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var i int
			if ranges.b != nil {
				var err error
				if i, err = a.jobIndex(index, "merge"); err != nil {
					return err
				}
			} else if index.set {
				return problem.Usage(errors.New("--index needs --ranges"))
			}
			p, _, dst, err := openPlan(cmd, dstURL, key, st)
			if err != nil {
				return err
			}
			var fn func(pipeline.Progress)
			if !quiet {
				pr := a.startProgress()
				fn = pr.update
				defer pr.end()
			}
			if ranges.b != nil {
				m, err := pipeline.MergeRange(cmd.Context(), p, dst, ranges.b, i, fn)
				if m != nil {
					fmt.Fprintf(a.stdout, "range %d: %d rows read, %d written in %d files, %d duplicates\n", i, m.RowsIn, m.Rows, len(m.Files), m.Duplicates)
				}
				return err
			}
			s, err := pipeline.MergeDayProgress(cmd.Context(), p, dst, commit.Options{TTL: leaseTTL}, fn)
			a.printSummary(s, asJSON)
			return err
		},
	}
	fs := cmd.Flags()
	planFlags(fs, &dstURL, &key)
	fs.BoolVar(&asJSON, "json", false, "print the summary as one JSON object")
	fs.BoolVar(&quiet, "quiet", false, "no progress on stderr")
	fs.DurationVar(&leaseTTL, "lease-ttl", 0, "how long the day's lease lasts without renewal (default 1m)")
	fs.Var(&ranges, "ranges", rangesHelp)
	fs.Var(&index, "index", "the range to merge, with --ranges (default: $JOB_COMPLETION_INDEX)")
	cli.Group(fs, "Day", "destination", "plan", "json", "quiet", "lease-ttl", "ranges", "index")
	st.register(fs, false)
	return cmd
}

func (a *app) mergePlanCommand() *cobra.Command {
	var dstURL, key string
	var indices int
	var st storeFlags
	cmd := &cobra.Command{
		Use:     "merge-plan --destination DST --plan KEY --indices R",
		Short:   "Split a flattened day by event time for R merge indices",
		GroupID: "stages",
		Long: `Read the shards' results of a flattened plan and cut the day into at most R
ranges of event time balanced by rows, at the 5-minute bounds the shards counted
their rows in. Prints the bounds for shard-worker merge --ranges and publish
--ranges, then one line per range. Fewer ranges than R come back when the rows
do not split further (a range is never cut: the copies of an event stay in one).`,
		Example: `  shard-worker merge-plan --destination s3://my-lake/cloudtrail \
    --plan _parquetrail/staging/proc_ymd=20261124/<run>/plan.json --indices 8`,
		Args: cli.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if indices < 1 {
				return problem.Usage(fmt.Errorf("--indices %d: want at least 1", indices))
			}
			p, _, dst, err := openPlan(cmd, dstURL, key, st)
			if err != nil {
				return err
			}
			bounds, spans, err := pipeline.PlanRanges(cmd.Context(), p, dst, indices)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "ranges %s\n", plan.FormatBounds(bounds))
			for _, sp := range spans {
				fmt.Fprintf(a.stdout, "range %d: %s to %s, %d rows\n", sp.Index, sp.From.Format(time.RFC3339), sp.To.Format(time.RFC3339), sp.Rows)
			}
			return nil
		},
	}
	fs := cmd.Flags()
	planFlags(fs, &dstURL, &key)
	fs.IntVar(&indices, "indices", 1, "the most merge indices to split the day for")
	cli.Group(fs, "Day", "destination", "plan", "indices")
	st.register(fs, false)
	return cmd
}

func (a *app) publishCommand() *cobra.Command {
	var dstURL, key string
	var asJSON bool
	var st storeFlags
	var leaseTTL time.Duration
	var ranges rangesFlag
	cmd := &cobra.Command{
		Use:     "publish --destination DST --plan KEY --ranges B",
		Short:   "Publish a day whose ranges were merged by shard-worker merge --ranges",
		GroupID: "stages",
		Long: `Join the files the merge indices of a range-split day wrote into staging, check
that every range holds the rows its shards counted and that the files follow
each other in event time, and publish the day under its lease, as shard-worker
merge does for a day merged at once.`,
		Example: `  shard-worker publish --destination s3://my-lake/cloudtrail \
    --plan _parquetrail/staging/proc_ymd=20261124/<run>/plan.json --ranges 0,96,190,288 --json`,
		Args: cli.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if ranges.b == nil {
				return problem.Usage(errors.New("--ranges is required (the bounds the merge indices were given)"))
			}
			p, _, dst, err := openPlan(cmd, dstURL, key, st)
			if err != nil {
				return err
			}
			s, err := pipeline.PublishRanges(cmd.Context(), p, dst, ranges.b, commit.Options{TTL: leaseTTL})
			a.printSummary(s, asJSON)
			return err
		},
	}
	fs := cmd.Flags()
	planFlags(fs, &dstURL, &key)
	fs.BoolVar(&asJSON, "json", false, "print the summary as one JSON object")
	fs.DurationVar(&leaseTTL, "lease-ttl", 0, "how long the day's lease lasts without renewal (default 1m)")
	fs.Var(&ranges, "ranges", "the bounds the merge indices were given (shard-worker merge --ranges)")
	cli.Group(fs, "Day", "destination", "plan", "json", "lease-ttl", "ranges")
	st.register(fs, false)
	return cmd
}

func schemaFlags(fs *pflag.FlagSet) (set, local, types *string) {
	set = fs.String("columns", record.Full, "column set: full or seed")
	local = fs.String("local-time-column", record.DefaultLocalTimeColumn, "name of the local-time column")
	types = new(string)
	typesFlag(fs, types)
	return set, local, types
}

func fileSchema(set, local, types string) (*record.Schema, error) {
	s, err := record.NewSchema(set, local)
	if err != nil {
		return nil, problem.Usage(err)
	}
	// proc_ymd's value does not matter for the columns and their types.
	fs, err := s.FileSchema(types, "20060102")
	if err != nil {
		return nil, problem.Usage(err)
	}
	return fs, nil
}

func (a *app) columnsCommand() *cobra.Command {
	var set, local, types *string
	cmd := &cobra.Command{
		Use:     "columns [--columns full|seed] [--types typed|spark]",
		Short:   "List the columns of a column set, their types and source fields",
		GroupID: "schema",
		Example: `  shard-worker columns --columns seed --local-time-column eventtime_kst
  shard-worker columns --columns seed --types spark`,
		Args: cli.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := fileSchema(*set, *local, *types)
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "COLUMN\tTYPE\tFROM")
			for _, c := range s.Columns {
				from := strings.Join(c.Path, ".")
				if from == "" {
					from = "-"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\n", c.Name, c.Kind, from)
			}
			return tw.Flush()
		},
	}
	set, local, types = schemaFlags(cmd.Flags())
	return cmd
}

func (a *app) athenaCommand() *cobra.Command {
	var set, local, types *string
	var o athena.Options
	cmd := &cobra.Command{
		Use:     "athena --location s3://bucket/prefix [flags]",
		Short:   "Print the Athena table (partition projection, no crawler)",
		GroupID: "schema",
		Long: `Print the CREATE EXTERNAL TABLE statement that makes a destination queryable from
Athena and the Glue Data Catalog, with partition projection on proc_ymd (a
string), so that every new day is queryable without a crawler. Use the column
set, local-time column and types the days were written with.`,
		Example: `  shard-worker athena --location s3://my-lake/cloudtrail --columns seed \
    --local-time-column eventtime_kst --database security --table cloudtrail_kst`,
		Args: cli.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := fileSchema(*set, *local, *types)
			if err != nil {
				return err
			}
			ddl, err := athena.DDL(s, o)
			if err != nil {
				return problem.Usage(err)
			}
			_, err = io.WriteString(a.stdout, ddl)
			return err
		},
	}
	fs := cmd.Flags()
	set, local, types = schemaFlags(fs)
	fs.StringVar(&o.Location, "location", "", "the destination root, s3://bucket[/prefix]")
	fs.StringVar(&o.Database, "database", "default", "Glue database")
	fs.StringVar(&o.Table, "table", "cloudtrail", "table name")
	fs.StringVar(&o.FirstDay, "first-day", "20130101", "first proc_ymd of partition projection, YYYYMMDD")
	return cmd
}

func (a *app) versionCommand() *cobra.Command {
	return &cobra.Command{
		Use:     "version",
		Short:   "Print the version",
		GroupID: "other",
		Args:    cli.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprintln(a.stdout, "shard-worker", cli.Version(version))
			return err
		},
	}
}
