package pipeline

import (
	"context"
	"fmt"

	"github.com/parquetrail/parquetrail/internal/digest"
	"github.com/parquetrail/parquetrail/internal/plan"
	"github.com/parquetrail/parquetrail/internal/problem"
	"github.com/parquetrail/parquetrail/internal/store"
	"github.com/parquetrail/parquetrail/internal/window"
)

// verifyIntegrity checks the plan's files against the trail's digests and
// records the outcome in the plan. With OnIntegrity "fail", a file or
// digest that does not verify (files not yet covered aside) fails the day
// before anything is read: the run's error manifest names each one, and the
// error is bad input (a retry cannot fix a tampered trail).
func verifyIntegrity(ctx context.Context, c Config, p *plan.Plan, day window.Day, src, dst store.Store) error {
	keys, err := digest.NewKeyProvider(ctx, c.PublicKeys, c.Stores.Source)
	if err != nil {
		return err
	}
	rep, err := digest.Verify(ctx, digest.Options{
		Source: src, Day: day, LateArrival: c.LateArrival, Objects: p.Objects(), Keys: keys, Regions: c.Regions,
	})
	if err != nil {
		return fmt.Errorf("verifying integrity: %w", err)
	}
	p.Integrity = rep.Brief()
	if c.OnIntegrity != "fail" || !rep.Tampered() {
		return nil
	}
	key := plan.ErrorsKey(day.YMD(), p.RunID)
	if _, err := writeProblems(ctx, dst, key, nil, rep.Problems()...); err != nil {
		return fmt.Errorf("writing the error manifest: %w", err)
	}
	n := rep.Counts
	return fmt.Errorf("%w: integrity: %d hash mismatches, %d missing, %d unlisted, %d vouched for by a failed digest, %d digest failures (listed in %s)",
		problem.ErrBadInput, n.Mismatch, n.Missing, n.Unlisted, n.DigestInvalid, n.DigestFailures, plan.JoinURL(p.Destination, key))
}
