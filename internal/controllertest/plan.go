package controllertest

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/pflag"
	batchv1 "k8s.io/api/batch/v1"

	"github.com/parquetrail/parquetrail/internal/pipeline"
	"github.com/parquetrail/parquetrail/internal/plan"
	"github.com/parquetrail/parquetrail/internal/problem"
	"github.com/parquetrail/parquetrail/internal/store"
)

// Plan does what the plan Job's worker does: it reads the settings from the
// Job's arguments (`shard-worker plan ...`), plans the day from src with the
// real planner and writes the plan into dst at the Job's run. On bad input
// it leaves the failure as the worker does, and returns the error. src and
// dst stand for the stores the arguments name (tests reach them on
// loopback); a --public-keys path is read from publicKeys when given.
func Plan(ctx context.Context, src, dst store.Store, job *batchv1.Job, publicKeys map[string]string) (*plan.Plan, error) {
	c, runID, maxShards, err := planConfig(job)
	if err != nil {
		return nil, err
	}
	if path, ok := publicKeys[c.PublicKeys]; ok {
		c.PublicKeys = path
	}
	p, _, _, err := pipeline.PlanDay(ctx, c, src, dst, runID, maxShards)
	if err != nil && errors.Is(err, problem.ErrBadInput) {
		f := &plan.PlanFailure{Error: err.Error()}
		if p != nil {
			f.Integrity = p.Integrity
		}
		ymd := strings.ReplaceAll(c.Date, "-", "")
		if werr := plan.WritePlanFailure(ctx, dst, plan.PlanFailureKey(ymd, runID), f); werr != nil {
			return nil, errors.Join(err, werr)
		}
	}
	return p, err
}

// planConfig parses the arguments of a plan Job's worker into the pipeline's
// configuration, as shard-worker plan would.
func planConfig(job *batchv1.Job) (c pipeline.Config, runID string, maxShards int, err error) {
	cs := job.Spec.Template.Spec.Containers
	if len(cs) != 1 || len(cs[0].Args) == 0 || cs[0].Args[0] != "plan" {
		return c, "", 0, fmt.Errorf("Job %s does not run shard-worker plan", job.Name)
	}
	fs := pflag.NewFlagSet("plan", pflag.ContinueOnError)
	var accounts, regions string
	var shardMiB int64
	var ignored string
	var ignoredBool bool
	fs.StringVar(&c.Source, "source", "", "")
	fs.StringVar(&c.Destination, "destination", "", "")
	fs.StringVar(&c.Date, "date", "", "")
	fs.StringVar(&c.TimeZone, "time-zone", "UTC", "")
	fs.StringVar(&runID, "run-id", "", "")
	fs.DurationVar(&c.LateArrival, "late-arrival", 0, "")
	fs.StringVar(&c.OrgID, "organization-id", "", "")
	fs.StringVar(&accounts, "accounts", "", "")
	fs.StringVar(&regions, "regions", "", "")
	fs.StringVar(&c.Columns, "columns", "", "")
	fs.StringVar(&c.LocalTimeColumn, "local-time-column", "", "")
	fs.StringVar(&c.Compression, "compression", "", "")
	fs.StringVar(&c.OnMalformed, "on-malformed", "", "")
	fs.BoolVar(&c.Deduplicate, "deduplicate", true, "")
	fs.Int64Var(&shardMiB, "shard-size", 0, "")
	fs.BoolVar(&c.AllowOpenWindow, "allow-open-window", false, "")
	fs.BoolVar(&c.AllowEmpty, "allow-empty", false, "")
	fs.IntVar(&maxShards, "max-shards", 0, "")
	fs.IntVar(&c.ListConcurrency, "list-concurrency", 0, "")
	fs.StringSliceVar(&c.Rivals, "rivals", nil, "")
	fs.BoolVar(&c.VerifyIntegrity, "verify-integrity", false, "")
	fs.StringVar(&c.OnIntegrity, "on-integrity", "", "")
	fs.StringVar(&c.PublicKeys, "public-keys", "", "")
	for _, name := range []string{"source-endpoint", "destination-endpoint", "region"} {
		fs.StringVar(&ignored, name, "", "")
	}
	fs.BoolVar(&ignoredBool, "path-style", false, "")
	if err := fs.Parse(cs[0].Args[1:]); err != nil {
		return c, "", 0, fmt.Errorf("Job %s: %w", job.Name, err)
	}
	for _, s := range strings.Split(accounts, ",") {
		if s != "" {
			c.Accounts = append(c.Accounts, s)
		}
	}
	for _, s := range strings.Split(regions, ",") {
		if s != "" {
			c.Regions = append(c.Regions, s)
		}
	}
	c.TargetShardBytes = shardMiB << 20
	c.Defaults()
	if err := c.Validate(); err != nil {
		return c, "", 0, fmt.Errorf("Job %s: %w", job.Name, err)
	}
	return c, runID, maxShards, nil
}
