// Command shard-worker converts CloudTrail logs into Parquet. It is both the
// program the operator runs in its worker pods (flatten one shard of a plan,
// merge a day) and the way to run a whole day in one process (run).
//
// Exit codes (problem.ExitCode): 0 success, 1 failure (a retry may help),
// 2 usage or configuration error, 3 bad input that a retry cannot fix.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/parquetrail/parquetrail/internal/athena"
	"github.com/parquetrail/parquetrail/internal/commit"
	"github.com/parquetrail/parquetrail/internal/pipeline"
	"github.com/parquetrail/parquetrail/internal/plan"
	"github.com/parquetrail/parquetrail/internal/problem"
	"github.com/parquetrail/parquetrail/internal/record"
	"github.com/parquetrail/parquetrail/internal/store"
)

const usage = `shard-worker converts one day of AWS CloudTrail logs into Parquet.

Usage:
  shard-worker run      --source SRC --destination DST --date YYYY-MM-DD [flags]
  shard-worker plan     --source SRC --destination DST --date YYYY-MM-DD [flags]
  shard-worker flatten  --destination DST --plan KEY [--index N]
  shard-worker merge    --destination DST --plan KEY
  shard-worker columns  [--columns full|seed] [--local-time-column NAME]
  shard-worker athena   --location s3://bucket/prefix [--columns full|seed] [--table NAME]
  shard-worker version

SRC and DST are a local folder or s3://bucket[/prefix].
Run "shard-worker COMMAND -h" for a command's flags.
`

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// defaultMemoryLimit is the Go runtime's soft memory limit unless
// GOMEMLIMIT says otherwise: a worker stays under 256 MiB whatever the size
// of its shard or of one input file (the operator sets GOMEMLIMIT from the
// pod's memory limit instead).
const defaultMemoryLimit = 224 << 20

func main() {
	if _, ok := os.LookupEnv("GOMEMLIMIT"); !ok {
		debug.SetMemoryLimit(defaultMemoryLimit)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "run":
		err = cmdRun(ctx, args[1:], stdout, stderr)
	case "plan":
		err = cmdPlan(ctx, args[1:], stdout)
	case "flatten":
		err = cmdFlatten(ctx, args[1:], stdout)
	case "merge":
		err = cmdMerge(ctx, args[1:], stdout)
	case "columns":
		err = cmdColumns(args[1:], stdout)
	case "athena":
		err = cmdAthena(args[1:], stdout)
	case "version", "--version":
		fmt.Fprintln(stdout, "shard-worker", version)
		return 0
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "shard-worker: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	return exitCode(err, stderr)
}

// usageError is a problem.ErrUsage (exit 2).
type usageError struct{ error }

func (u usageError) Unwrap() []error { return []error{u.error, problem.ErrUsage} }

// exitCode prints err and maps it to the exit code (problem.ExitCode).
func exitCode(err error, stderr io.Writer) int {
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return 0
	}
	fmt.Fprintf(stderr, "shard-worker: %v\n", err)
	return problem.ExitCode(err)
}

// storeFlags are the settings for reaching S3-compatible stores; the SDK's
// standard chain (environment, profile, IRSA, Pod Identity) supplies the rest.
type storeFlags struct {
	srcEndpoint, dstEndpoint string
	region                   string
	pathStyle                bool
	maxAttempts              int
	requestTimeout, idle     time.Duration
}

func (s *storeFlags) register(fs *flag.FlagSet, source bool) {
	if source {
		fs.StringVar(&s.srcEndpoint, "source-endpoint", "", "S3 endpoint URL of the source, for S3-compatible stores")
	}
	fs.StringVar(&s.dstEndpoint, "destination-endpoint", "", "S3 endpoint URL of the destination, for S3-compatible stores")
	fs.StringVar(&s.region, "region", "", "AWS region (default: the SDK's configuration chain)")
	fs.BoolVar(&s.pathStyle, "path-style", false, "address buckets path-style (most S3-compatible stores)")
	fs.IntVar(&s.maxAttempts, "max-attempts", 0, "attempts per S3 request and object read (default: AWS_MAX_ATTEMPTS, the profile's max_attempts, else 3)")
	fs.DurationVar(&s.requestTimeout, "request-timeout", 0, "longest S3 request attempt, body included (default 5m)")
	fs.DurationVar(&s.idle, "idle-timeout", 0, "fail an S3 request attempt after this long without a byte (default 30s)")
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
	accounts string
	regions  string
	shardMiB int64
	st       storeFlags
}

func (d *dayFlags) register(fs *flag.FlagSet) {
	c := &d.cfg
	fs.StringVar(&c.Source, "source", "", "where the trail's logs are: a folder or s3://bucket[/prefix] (above AWSLogs/)")
	fs.StringVar(&c.Destination, "destination", "", "where the Parquet goes: a folder or s3://bucket[/prefix]")
	fs.StringVar(&c.Date, "date", "", "the day, YYYY-MM-DD, in --time-zone")
	fs.StringVar(&c.TimeZone, "time-zone", "UTC", "IANA time zone of the day, e.g. Asia/Seoul")
	fs.StringVar(&c.OrgID, "organization-id", "", "Organization trail ID (o-...); default: discover")
	fs.StringVar(&d.accounts, "accounts", "", "comma-separated account IDs; default: discover")
	fs.StringVar(&d.regions, "regions", "", "comma-separated regions; default: discover")
	fs.StringVar(&c.Columns, "columns", record.Full, "column set: full (every field, lossless) or seed")
	fs.StringVar(&c.LocalTimeColumn, "local-time-column", record.DefaultLocalTimeColumn, "name of the local-time column")
	fs.StringVar(&c.OnMalformed, "on-malformed", "report", "what a malformed record or unreadable object does: fail the day, or report it and go on")
	fs.BoolVar(&c.VerifyIntegrity, "verify-integrity", false, "verify every selected file against CloudTrail's signed digest files (needs log file validation on the trail)")
	fs.StringVar(&c.PublicKeys, "public-keys", "", "PEM bundle of CloudTrail's public keys, instead of the ListPublicKeys API (offline)")
	fs.StringVar(&c.OnIntegrity, "on-integrity", "fail", "what a file or digest that does not verify does: fail the day, or report it and go on")
	fs.BoolVar(&c.Deduplicate, "deduplicate", true, "drop records whose eventID was already written")
	fs.StringVar(&c.Compression, "compression", "zstd", "Parquet compression: zstd, snappy, gzip or none")
	fs.DurationVar(&c.LateArrival, "late-arrival", time.Hour, "how long after the day's end files may still hold its events")
	fs.StringVar(&c.LateEvents, "late-events", pipeline.LateWrite, "events read after their own day's late-arrival margin: write them into their own day, or count them only")
	fs.Int64Var(&d.shardMiB, "shard-size", 0, "target compressed MiB per shard (default: 32 for run, 256 for plan)")
	fs.BoolVar(&c.AllowEmpty, "allow-empty", false, "publish an empty day when no log file is selected (default: fail, keeping the published day)")
	fs.BoolVar(&c.AllowOpenWindow, "allow-open-window", false, "run a day whose window plus late-arrival margin has not closed yet")
	fs.DurationVar(&c.Lease.TTL, "lease-ttl", 0, "how long the day's lease lasts without renewal; a killed run blocks the day this long (default 1m)")
	d.st.register(fs, true)
}

func (d *dayFlags) config() pipeline.Config {
	c := d.cfg
	c.Accounts = splitList(d.accounts)
	c.Regions = splitList(d.regions)
	c.TargetShardBytes = d.shardMiB << 20
	c.Stores = d.st.stores()
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

func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("unexpected argument %q", fs.Arg(0))}
	}
	return nil
}

func cmdRun(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var d dayFlags
	d.register(fs)
	fs.IntVar(&d.cfg.Workers, "workers", 0, "shards flattened at once (default: all cores)")
	asJSON := fs.Bool("json", false, "print the summary as one JSON object")
	quiet := fs.Bool("quiet", false, "no progress line")
	cpuProfile := fs.String("cpu-profile", "", "write a CPU profile of the run to this file (go tool pprof)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	c := d.config()
	if c.Source == "" || c.Destination == "" || c.Date == "" {
		return usageError{errors.New("run needs --source, --destination and --date")}
	}
	c.Defaults()
	if err := c.Validate(); err != nil {
		return usageError{err}
	}
	if !*quiet && isTerminal(stderr) {
		c.Progress = progressPrinter(stderr)
	}
	s, err := pipeline.Run(ctx, c)
	if c.Progress != nil {
		fmt.Fprint(stderr, "\r\033[K")
	}
	if s != nil {
		if *asJSON {
			_ = s.WriteJSON(stdout)
		} else {
			_ = s.WriteText(stdout)
		}
	}
	return err
}

func cmdPlan(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("plan", flag.ContinueOnError)
	var d dayFlags
	d.register(fs)
	maxShards := fs.Int("max-shards", 0, "at most this many shards (raises the shard size)")
	if err := parse(fs, args); err != nil {
		return err
	}
	c := d.config()
	c.Defaults()
	if c.TargetShardBytes == 0 {
		c.TargetShardBytes = 256 << 20
	}
	if err := c.Validate(); err != nil {
		return usageError{err}
	}
	src, err := store.Open(ctx, c.Source, c.Stores.Source)
	if err != nil {
		return err
	}
	dst, err := store.Open(ctx, c.Destination, c.Stores.Destination)
	if err != nil {
		return err
	}
	p, key, sum, err := pipeline.PlanDay(ctx, c, src, dst, plan.NewRunID(time.Now()), *maxShards)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "plan %s\nsha256 %s\nshards %d\nobjects %d (%d bytes)\n", key, sum, len(p.Shards), p.Counts.Selected, p.Counts.SelectedBytes)
	return nil
}

func openPlan(ctx context.Context, dstURL, key string, st storeFlags) (*plan.Plan, store.Store, store.Store, error) {
	if dstURL == "" || key == "" {
		return nil, nil, nil, usageError{errors.New("--destination and --plan are required")}
	}
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

func cmdFlatten(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("flatten", flag.ContinueOnError)
	dstURL := fs.String("destination", "", "the destination store holding the plan")
	key := fs.String("plan", "", "key of the plan manifest in the destination")
	index := fs.Int("index", -1, "shard index (default: $JOB_COMPLETION_INDEX)")
	var st storeFlags
	st.register(fs, true)
	if err := parse(fs, args); err != nil {
		return err
	}
	i := *index
	if i < 0 {
		v, ok := os.LookupEnv("JOB_COMPLETION_INDEX")
		if !ok {
			return usageError{errors.New("no --index and no JOB_COMPLETION_INDEX")}
		}
		n, err := strconv.Atoi(v)
		if err != nil {
			return usageError{fmt.Errorf("JOB_COMPLETION_INDEX %q is not a number", v)}
		}
		i = n
	}
	p, src, dst, err := openPlan(ctx, *dstURL, *key, st)
	if err != nil {
		return err
	}
	res, err := pipeline.FlattenShard(ctx, p, i, src, dst)
	if res != nil {
		fmt.Fprintf(stdout, "shard %d: %d objects, records read %d, written %d, outside %d, malformed %d\n",
			i, res.Objects, res.Read, res.Written, res.Outside, res.Malformed)
	}
	return err
}

func cmdMerge(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("merge", flag.ContinueOnError)
	dstURL := fs.String("destination", "", "the destination store holding the plan")
	key := fs.String("plan", "", "key of the plan manifest in the destination")
	asJSON := fs.Bool("json", false, "print the summary as one JSON object")
	leaseTTL := fs.Duration("lease-ttl", 0, "how long the day's lease lasts without renewal (default 1m)")
	var st storeFlags
	st.register(fs, false)
	if err := parse(fs, args); err != nil {
		return err
	}
	p, _, dst, err := openPlan(ctx, *dstURL, *key, st)
	if err != nil {
		return err
	}
	s, err := pipeline.MergeDayWith(ctx, p, dst, commit.Options{TTL: *leaseTTL})
	if s != nil {
		if *asJSON {
			_ = s.WriteJSON(stdout)
		} else {
			_ = s.WriteText(stdout)
		}
	}
	return err
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

func progressPrinter(w io.Writer) func(pipeline.Progress) {
	return func(p pipeline.Progress) {
		pct := 0.0
		if p.BytesTotal > 0 {
			pct = 100 * float64(p.BytesRead) / float64(p.BytesTotal)
		}
		fmt.Fprintf(w, "\r\033[K%s: %d/%d shards, %d records, %.0f%% of input, %s",
			p.Stage, p.ShardsDone, p.ShardsTotal, p.RecordsRead, pct, p.Elapsed.Round(time.Second))
	}
}

func schemaFlags(fs *flag.FlagSet) (set, local *string) {
	set = fs.String("columns", record.Full, "column set: full or seed")
	local = fs.String("local-time-column", record.DefaultLocalTimeColumn, "name of the local-time column")
	return set, local
}

func cmdColumns(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("columns", flag.ContinueOnError)
	set, local := schemaFlags(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	s, err := record.NewSchema(*set, *local)
	if err != nil {
		return usageError{err}
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "COLUMN\tTYPE\tFROM")
	for _, c := range s.Columns {
		from := strings.Join(c.Path, ".")
		if from == "" {
			from = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", c.Name, c.Kind, from)
	}
	return tw.Flush()
}

func cmdAthena(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("athena", flag.ContinueOnError)
	set, local := schemaFlags(fs)
	var o athena.Options
	fs.StringVar(&o.Location, "location", "", "the destination root, s3://bucket[/prefix]")
	fs.StringVar(&o.Database, "database", "default", "Glue database")
	fs.StringVar(&o.Table, "table", "cloudtrail", "table name")
	fs.StringVar(&o.FirstDay, "first-day", "20130101", "first proc_ymd of partition projection, YYYYMMDD")
	if err := parse(fs, args); err != nil {
		return err
	}
	s, err := record.NewSchema(*set, *local)
	if err != nil {
		return usageError{err}
	}
	ddl, err := athena.DDL(s, o)
	if err != nil {
		return usageError{err}
	}
	_, err = io.WriteString(stdout, ddl)
	return err
}
