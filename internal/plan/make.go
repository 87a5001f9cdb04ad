package plan

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/parquetrail/parquetrail/internal/defaults"
	"github.com/parquetrail/parquetrail/internal/store"
	"github.com/parquetrail/parquetrail/internal/trail"
	"github.com/parquetrail/parquetrail/internal/window"
)

// Defaults of Options.
const (
	DefaultLateArrival      = defaults.LateArrival
	DefaultTargetShardBytes = 256 << 20
	DefaultListConcurrency  = 16
)

// Options say what to plan.
type Options struct {
	// Source holds the trail: AWSLogs/ is directly below its root (the
	// bucket, or the trail's key prefix in it).
	Source store.Store
	Day    window.Day
	// LateArrival is how long after the window's end a file may be
	// delivered and still be read; 0 = DefaultLateArrival.
	LateArrival time.Duration
	// OrgID is the Organization folder ("o-..."; the "o-" may be left out)
	// of an Organization trail; "" = look for Organization folders and for
	// accounts directly under AWSLogs/.
	OrgID string
	// Accounts and Regions restrict the plan; empty = every one found.
	Accounts []string
	Regions  []string
	// TargetShardBytes is the compressed size of a shard's input;
	// 0 = DefaultTargetShardBytes.
	TargetShardBytes int64
	// MaxShards caps the number of shards by raising the target; 0 = no cap.
	MaxShards int
	// ListConcurrency bounds the listing requests in flight;
	// 0 = DefaultListConcurrency.
	ListConcurrency int
	// Progress, when set, is called as each date folder has been listed,
	// with the folders listed so far, all of them, and the objects seen;
	// calls do not overlap.
	Progress func(listed, folders int, objects int64)
}

func (o *Options) normalize() error {
	if o.Source == nil {
		return errors.New("plan: no source store")
	}
	if o.Day.Zone == nil || !o.Day.Start.Before(o.Day.End) {
		return errors.New("plan: no day window (use window.New)")
	}
	switch {
	case o.LateArrival < 0:
		return fmt.Errorf("plan: negative late-arrival margin %v", o.LateArrival)
	case o.LateArrival == 0:
		o.LateArrival = DefaultLateArrival
	}
	switch {
	case o.TargetShardBytes < 0:
		return fmt.Errorf("plan: negative target shard size %d", o.TargetShardBytes)
	case o.TargetShardBytes == 0:
		o.TargetShardBytes = DefaultTargetShardBytes
	}
	if o.MaxShards < 0 {
		return fmt.Errorf("plan: negative shard limit %d", o.MaxShards)
	}
	if o.ListConcurrency <= 0 {
		o.ListConcurrency = DefaultListConcurrency
	}
	if o.OrgID != "" {
		if !strings.HasPrefix(o.OrgID, "o-") {
			o.OrgID = "o-" + o.OrgID
		}
		if !trail.IsOrgID(o.OrgID) {
			return fmt.Errorf("plan: %q is not an Organization ID (o- and lowercase letters or digits)", o.OrgID)
		}
	}
	for _, a := range o.Accounts {
		if !trail.IsAccount(a) {
			return fmt.Errorf("plan: %q is not an AWS account ID (12 digits)", a)
		}
	}
	for _, r := range o.Regions {
		if !trail.IsRegion(r) {
			return fmt.Errorf("plan: %q is not an AWS region name", r)
		}
	}
	o.Accounts = sortedUnique(o.Accounts)
	o.Regions = sortedUnique(o.Regions)
	return nil
}

func sortedUnique(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return slices.Compact(s)
}

// Make lists the day's date folders of every account and region of the
// trail, selects the event-log files that may hold events of the window,
// and packs them into shards. A day without files gives a plan without
// shards. The caller fills in RunID, Destination and the flatten settings.
func Make(ctx context.Context, opts Options) (*Plan, error) {
	if err := opts.normalize(); err != nil {
		return nil, err
	}
	prefixes, accounts, regions, err := discover(ctx, &opts)
	if err != nil {
		return nil, err
	}
	objs, counts, err := listPrefixes(ctx, &opts, prefixes)
	if err != nil {
		return nil, err
	}
	counts.Accounts, counts.Regions, counts.Prefixes = accounts, regions, len(prefixes)
	target := opts.TargetShardBytes
	if opts.MaxShards > 0 {
		target = targetFor(objs, target, opts.MaxShards)
	}
	return &Plan{
		Version:     Version,
		Date:        opts.Day.Date,
		TimeZone:    opts.Day.ZoneName(),
		Source:      opts.Source.URL(),
		LateArrival: opts.LateArrival,
		Counts:      counts,
		Shards:      pack(objs, target),
	}, nil
}

// regionsOf is one account folder whose regions are listed.
type regionsOf struct {
	base    string // "AWSLogs/" or "AWSLogs/o-.../"
	account string
	regions []string
}

// discover finds the date folders to list: the Organization folders, then
// the accounts, then the regions, each level listed concurrently unless
// the options name it.
func discover(ctx context.Context, o *Options) (prefixes []string, accounts, regions int, err error) {
	logs := trail.LogsPrefix("")
	var bases []string
	if o.OrgID != "" {
		bases = []string{logs + o.OrgID + "/"}
	} else {
		top, err := o.Source.ListDirs(ctx, logs)
		if err != nil {
			return nil, 0, 0, fmt.Errorf("plan: %w", err)
		}
		if len(top) == 0 {
			return nil, 0, 0, fmt.Errorf("plan: no %s folder in %s: the source must name the bucket and the trail's key prefix, above %s",
				logs, o.Source.URL(), logs)
		}
		direct := false
		for _, d := range top {
			name := strings.TrimSuffix(strings.TrimPrefix(d, logs), "/")
			switch {
			case trail.IsOrgID(name):
				bases = append(bases, d)
			case trail.IsAccount(name):
				direct = true
			}
		}
		if direct {
			bases = append(bases, logs)
		}
	}

	// Accounts of each base.
	var folders []regionsOf
	if len(o.Accounts) > 0 {
		for _, b := range bases {
			for _, a := range o.Accounts {
				folders = append(folders, regionsOf{base: b, account: a})
			}
		}
	} else {
		found := make([][]string, len(bases))
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(o.ListConcurrency)
		for i, b := range bases {
			g.Go(func() error {
				dirs, err := o.Source.ListDirs(gctx, b)
				if err != nil {
					return fmt.Errorf("plan: %w", err)
				}
				for _, d := range dirs {
					if name := strings.TrimSuffix(strings.TrimPrefix(d, b), "/"); trail.IsAccount(name) {
						found[i] = append(found[i], name)
					}
				}
				return nil
			})
		}
		if err := g.Wait(); err != nil {
			return nil, 0, 0, err
		}
		for i, b := range bases {
			for _, a := range found[i] {
				folders = append(folders, regionsOf{base: b, account: a})
			}
		}
	}

	// Regions of each account.
	if len(o.Regions) > 0 {
		for i := range folders {
			folders[i].regions = o.Regions
		}
	} else {
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(o.ListConcurrency)
		for i := range folders {
			f := &folders[i]
			g.Go(func() error {
				p := f.base + f.account + "/" + trail.TrailFolder + "/"
				dirs, err := o.Source.ListDirs(gctx, p)
				if err != nil {
					return fmt.Errorf("plan: %w", err)
				}
				for _, d := range dirs {
					if name := strings.TrimSuffix(strings.TrimPrefix(d, p), "/"); trail.IsRegion(name) {
						f.regions = append(f.regions, name)
					}
				}
				return nil
			})
		}
		if err := g.Wait(); err != nil {
			return nil, 0, 0, err
		}
	}

	days := o.Day.Folders(o.LateArrival)
	accountSet, regionSet := map[string]bool{}, map[string]bool{}
	for _, f := range folders {
		for _, r := range f.regions {
			accountSet[f.account], regionSet[r] = true, true
			for _, d := range days {
				prefixes = append(prefixes, f.base+f.account+"/"+trail.TrailFolder+"/"+r+"/"+d+"/")
			}
		}
	}
	slices.Sort(prefixes)
	return prefixes, len(accountSet), len(regionSet), nil
}

// listed is a selected object with its delivery time, the first sort key.
type listed struct {
	store.Object
	delivered time.Time
}

// listPrefixes lists the date folders concurrently and selects event logs.
func listPrefixes(ctx context.Context, o *Options, prefixes []string) ([]listed, Counts, error) {
	var (
		mu     sync.Mutex
		all    []listed
		counts Counts
		done   int
	)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(o.ListConcurrency)
	for _, p := range prefixes {
		g.Go(func() error {
			var (
				c    Counts
				objs []listed
			)
			err := o.Source.List(gctx, p, func(obj store.Object) error {
				c.Listed++
				k, ok := trail.ParseKey(obj.Key)
				if !ok {
					c.NotLogs++
					return nil
				}
				switch ok, reason := o.Day.Selects(k.Delivered, o.LateArrival); {
				case ok:
					c.Selected++
					c.SelectedBytes += obj.Size
					objs = append(objs, listed{Object: obj, delivered: k.Delivered})
				case reason == window.ReasonEarly:
					c.SkippedEarly++
				default:
					c.SkippedLate++
				}
				return nil
			})
			if err != nil {
				return fmt.Errorf("plan: %w", err)
			}
			mu.Lock()
			defer mu.Unlock()
			all = append(all, objs...)
			counts.Listed += c.Listed
			counts.Selected += c.Selected
			counts.SelectedBytes += c.SelectedBytes
			counts.SkippedEarly += c.SkippedEarly
			counts.SkippedLate += c.SkippedLate
			counts.NotLogs += c.NotLogs
			if o.Progress != nil {
				done++
				o.Progress(done, len(prefixes), counts.Listed)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, Counts{}, err
	}
	slices.SortFunc(all, func(a, b listed) int {
		return cmp.Or(a.delivered.Compare(b.delivered), strings.Compare(a.Key, b.Key))
	})
	return all, counts, nil
}
