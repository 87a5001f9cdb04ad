// Package commit publishes a day's files into its partition safely, on S3
// and on a local folder: one run at a time (a lease per day, taken and
// renewed with conditional writes), crash-consistent (files staged first, a
// journal of the switch, the manifest's compare-and-swap as the one commit
// point, a recovery that finishes or undoes an interrupted switch), and
// deleting only parquetrail's own files. docs/publishing.md describes the
// protocol, its states and its fault matrix.
package commit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/parquetrail/parquetrail/internal/store"
)

// DefaultLeaseTTL is how long a lease lasts without renewal. A holder
// renews it every TTL/3; a holder that died blocks the day this long at most.
const DefaultLeaseTTL = time.Minute

// LeaseKey is the lease object of a day.
func LeaseKey(ymd string) string { return "_parquetrail/locks/proc_ymd=" + ymd + ".json" }

// Lease is who holds a day, and until when.
type Lease struct {
	Run      string    `json:"run"`
	Holder   string    `json:"holder"` // host or pod, and process
	Acquired time.Time `json:"acquired"`
	Renewed  time.Time `json:"renewed"`
	Expires  time.Time `json:"expires"`
}

// HeldError is the failure of a run that found the day held by another run.
type HeldError struct {
	Day   string // "s3://bucket/prefix/proc_ymd=YYYYMMDD"
	Lease Lease
}

func (e *HeldError) Error() string {
	return fmt.Sprintf("%s is being published by run %s (%s) since %s; its lease expires at %s unless renewed: try again after that",
		e.Day, e.Lease.Run, e.Lease.Holder, e.Lease.Acquired.UTC().Format(time.RFC3339), e.Lease.Expires.UTC().Format(time.RFC3339))
}

// Options of a lease.
type Options struct {
	// Holder names this process in the lease ("pod/name" or "host/pid");
	// "" = $POD_NAME or the host name, with the process ID.
	Holder string
	// TTL of the lease; 0 = DefaultLeaseTTL.
	TTL time.Duration
	// Now is the clock; nil = time.Now.
	Now func() time.Time
	// Rivals are the day parts (RunDay) of the operator's other
	// CloudTrailDays for the same date and destination: Publish refuses to
	// replace a day one of them published (RivalError).
	Rivals []string
}

// Holder is the default holder name of this process.
func Holder() string {
	if pod := os.Getenv("POD_NAME"); pod != "" {
		return fmt.Sprintf("pod/%s/%d", pod, os.Getpid())
	}
	host, _ := os.Hostname()
	return fmt.Sprintf("host/%s/%d", host, os.Getpid())
}

// Day is a day of a destination held by this run: the lease is renewed in
// the background until Release.
type Day struct {
	st     store.Store
	ymd    string
	run    string
	holder string
	ttl    time.Duration
	now    func() time.Time
	rivals []string

	mu       sync.Mutex
	lease    Lease
	version  string
	lost     error
	cancel   context.CancelCauseFunc
	stop     chan struct{}
	stopped  chan struct{}
	released bool
}

// Acquire takes the day ymd of st for run. It fails with a *HeldError when
// another run holds an unexpired lease; a lease of the same run (a killed
// earlier process of this attempt: a retried merge pod) is waited for until
// it expires, since nobody else may take it earlier. So is, once, the lease
// of an earlier attempt of the same CloudTrailDay (a merge pod killed by a
// rerun): it is waited for until the expiry first seen, and fails the run
// only when it was renewed since (its holder is still alive). The returned
// context is cancelled, with the cause, when the lease is lost.
func Acquire(ctx context.Context, st store.Store, ymd, run string, o Options) (*Day, context.Context, error) {
	if o.TTL <= 0 {
		o.TTL = DefaultLeaseTTL
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Holder == "" {
		o.Holder = Holder()
	}
	d := &Day{st: st, ymd: ymd, run: run, holder: o.Holder, ttl: o.TTL, now: o.Now, rivals: o.Rivals}
	var earlier time.Time // the expiry of an earlier attempt's lease, first seen
	for {
		held, err := d.try(ctx)
		if err != nil {
			return nil, nil, err
		}
		if held == nil {
			break
		}
		if held.Run != run {
			if !earlierAttempt(held.Run, run) || !earlier.IsZero() && held.Expires.After(earlier) {
				return nil, nil, &HeldError{Day: d.where(), Lease: *held}
			}
			if earlier.IsZero() {
				earlier = held.Expires
			}
		}
		wait := held.Expires.Sub(d.now()) + 10*time.Millisecond
		select {
		case <-ctx.Done():
			return nil, nil, context.Cause(ctx)
		case <-time.After(min(max(wait, 10*time.Millisecond), o.TTL)):
		}
	}
	lctx, cancel := context.WithCancelCause(ctx)
	d.cancel = cancel
	d.stop = make(chan struct{})
	d.stopped = make(chan struct{})
	go d.heartbeat(lctx)
	return d, lctx, nil
}

func (d *Day) where() string { return d.st.URL() + "/proc_ymd=" + d.ymd }

// Run is the run holding the day.
func (d *Day) Run() string { return d.run }

// try takes the lease if it is free or expired; otherwise it returns the
// lease that holds the day.
func (d *Day) try(ctx context.Context) (*Lease, error) {
	key := LeaseKey(d.ymd)
	b, ver, err := store.ReadVersion(ctx, d.st, key)
	now := d.now().UTC()
	var cur Lease
	switch {
	case store.IsNotExist(err):
		ver = ""
	case err != nil:
		return nil, fmt.Errorf("reading the lease of %s: %w", d.where(), err)
	default:
		if jerr := json.Unmarshal(b, &cur); jerr != nil {
			// Not a lease parquetrail wrote (it writes whole objects):
			// replace it, still conditionally on its version.
			cur = Lease{}
		} else if cur.Expires.After(now) {
			return &cur, nil
		}
	}
	l := Lease{Run: d.run, Holder: d.holder, Acquired: now, Renewed: now, Expires: now.Add(d.ttl)}
	nb, _ := json.MarshalIndent(l, "", "  ")
	nv, err := store.PutIf(ctx, d.st, key, append(nb, '\n'), ver)
	if errors.Is(err, store.ErrPrecondition) {
		return d.try(ctx) // another run got there first: see who
	}
	if err != nil {
		return nil, fmt.Errorf("taking the lease of %s: %w", d.where(), err)
	}
	d.lease, d.version = l, nv
	return nil, nil
}

// heartbeat renews the lease every TTL/3 until Release; when it cannot, the
// run's context is cancelled before the lease expires, so that a run never
// publishes without holding the day.
func (d *Day) heartbeat(ctx context.Context) {
	defer close(d.stopped)
	t := time.NewTicker(d.ttl / 3)
	defer t.Stop()
	for {
		select {
		case <-d.stop:
			return
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := d.renew(ctx); err != nil {
			d.mu.Lock()
			expired := !d.now().Before(d.lease.Expires.Add(-d.ttl / 3))
			if errors.As(err, new(*HeldError)) || expired {
				d.lost = fmt.Errorf("lost the lease of %s: %w", d.where(), err)
				d.mu.Unlock()
				d.cancel(d.lost)
				return
			}
			d.mu.Unlock() // a store error: try again at the next tick
		}
	}
}

func (d *Day) renew(ctx context.Context) error {
	d.mu.Lock()
	l, ver := d.lease, d.version
	d.mu.Unlock()
	now := d.now().UTC()
	l.Renewed, l.Expires = now, now.Add(d.ttl)
	b, _ := json.MarshalIndent(l, "", "  ")
	nv, err := store.PutIf(ctx, d.st, LeaseKey(d.ymd), append(b, '\n'), ver)
	if errors.Is(err, store.ErrPrecondition) {
		// Our own renewal may have landed with its answer lost (the SDK
		// retried it): the lease is still ours if it names us.
		cb, cv, rerr := store.ReadVersion(ctx, d.st, LeaseKey(d.ymd))
		var cur Lease
		if rerr == nil && json.Unmarshal(cb, &cur) == nil && cur.Run == d.run && cur.Holder == d.holder {
			nv, err = cv, nil
			l = cur
		} else if rerr == nil {
			return &HeldError{Day: d.where(), Lease: cur}
		}
	}
	if err != nil {
		return err
	}
	d.mu.Lock()
	d.lease, d.version = l, nv
	d.mu.Unlock()
	return nil
}

// Check says whether the lease is still held with time to spare: a run
// calls it right before its commit point. It renews the lease first, so
// that the commit happens at least 2/3 of a TTL before any other run may
// take the day.
func (d *Day) Check(ctx context.Context) error {
	d.mu.Lock()
	lost := d.lost
	d.mu.Unlock()
	if lost != nil {
		return lost
	}
	if err := d.renew(ctx); err != nil {
		return fmt.Errorf("renewing the lease of %s before the commit: %w", d.where(), err)
	}
	return nil
}

// Release stops the heartbeat and removes the lease if it is still this
// run's. It is safe to call more than once.
func (d *Day) Release(ctx context.Context) error {
	d.mu.Lock()
	if d.released {
		d.mu.Unlock()
		return nil
	}
	d.released = true
	d.mu.Unlock()
	close(d.stop)
	<-d.stopped
	defer d.cancel(errors.New("lease released"))
	b, _, err := store.ReadVersion(ctx, d.st, LeaseKey(d.ymd))
	if store.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("releasing the lease of %s: %w", d.where(), err)
	}
	var cur Lease
	if json.Unmarshal(b, &cur) == nil && (cur.Run != d.run || cur.Holder != d.holder) {
		return nil // taken over after it expired: not ours to remove
	}
	// Between this read and the delete another run could only take the
	// lease if it had expired, which the heartbeat prevents.
	return d.st.Delete(ctx, LeaseKey(d.ymd))
}

// ReadLease returns the lease of a day, or nil when nobody holds it (no
// lease, or an expired one). The operator names the holder with it.
func ReadLease(ctx context.Context, st store.Store, ymd string, now time.Time) (*Lease, error) {
	b, _, err := store.ReadVersion(ctx, st, LeaseKey(ymd))
	if store.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var l Lease
	if err := json.Unmarshal(b, &l); err != nil {
		return nil, fmt.Errorf("%s: %w", LeaseKey(ymd), err)
	}
	if !l.Expires.After(now) {
		return nil, nil
	}
	return &l, nil
}
