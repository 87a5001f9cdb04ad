package controllers

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"
	ctrlevent "sigs.k8s.io/controller-runtime/pkg/event"

	"github.com/parquetrail/parquetrail/api/v1alpha1"
)

// queuedRecheck is how often a queued day looks for a slot by itself; a
// slot that frees wakes the queued days at once, this only backs it up.
const queuedRecheck = 30 * time.Second

// queue bounds the days that run (plan, flatten, merge) at once, so that a
// backfill of a year starts a few days at a time, oldest date first, not
// 365 plans and Jobs together.
//
// The cache alone cannot decide admissions: two reconciles of different
// days may run at once and each read the other as not yet started. So the
// days admitted are also kept here, under a lock, from admission until the
// attempt's end has been written (or the day is deleted).
type queue struct {
	mu    sync.Mutex
	slots map[types.UID]bool
	// wake receives the queued days when a slot frees.
	wake chan ctrlevent.GenericEvent
}

func newQueue() *queue {
	return &queue{slots: map[types.UID]bool{}, wake: make(chan ctrlevent.GenericEvent, 1024)}
}

// running says whether the stage holds a slot.
func running(stage v1alpha1.Stage) bool {
	switch stage {
	case v1alpha1.StagePlanning, v1alpha1.StageFlattening, v1alpha1.StageMerging:
		return true
	}
	return false
}

// queuedDay is a day in the queue, as admit orders it.
type queuedDay struct {
	date    string
	created time.Time
	key     string
}

// before orders the queue: oldest date first, then first created, then by
// name, so that every reconcile agrees on the order.
func (a queuedDay) compare(b queuedDay) int {
	return cmp.Or(cmp.Compare(a.date, b.date), a.created.Compare(b.created), cmp.Compare(a.key, b.key))
}

func queuedOf(d *v1alpha1.CloudTrailDay) queuedDay {
	return queuedDay{date: d.Spec.Date, created: d.CreationTimestamp.Time, key: d.Namespace + "/" + d.Name}
}

// admission is what admit decided.
type admission struct {
	ok      bool
	running int // days holding a slot, this one not included
	ahead   int // queued days before this one
}

// decide is the pure part of admission: day may start when fewer than limit
// days run and fewer queued days come before it than there are free slots.
func decide(day queuedDay, limit, running int, queued []queuedDay) admission {
	ahead := 0
	for _, q := range queued {
		if q.compare(day) < 0 {
			ahead++
		}
	}
	return admission{ok: limit <= 0 || ahead < limit-running, running: running, ahead: ahead}
}

// admit takes a slot for the day if it may start now.
func (r *Reconciler) admit(ctx context.Context, day *v1alpha1.CloudTrailDay) (admission, error) {
	limit := r.Config.MaxConcurrentDays
	if limit <= 0 {
		return admission{ok: true}, nil
	}
	var list v1alpha1.CloudTrailDayList
	if err := r.Client.List(ctx, &list); err != nil {
		return admission{}, fmt.Errorf("listing the days to queue %s: %w", day.Name, err)
	}
	q := r.dayQueue()
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.slots[day.UID] {
		return admission{ok: true}, nil
	}
	exists := map[types.UID]bool{}
	runningDays := map[types.UID]bool{}
	var queued []queuedDay
	for i := range list.Items {
		d := &list.Items[i]
		exists[d.UID] = true
		if d.UID == day.UID || !d.DeletionTimestamp.IsZero() {
			continue
		}
		switch stage := stageOf(&d.Status); {
		case running(stage):
			runningDays[d.UID] = true
		case stage == v1alpha1.StageQueued:
			queued = append(queued, queuedOf(d))
		}
	}
	for uid := range q.slots {
		if !exists[uid] {
			delete(q.slots, uid) // deleted while the manager was not looking
			continue
		}
		runningDays[uid] = true
	}
	a := decide(queuedOf(day), limit, len(runningDays), queued)
	if a.ok {
		q.slots[day.UID] = true
	}
	return a, nil
}

// queueInit guards the first use of a Reconciler's queue.
var queueInit sync.Mutex

func (r *Reconciler) dayQueue() *queue {
	queueInit.Lock()
	defer queueInit.Unlock()
	if r.queue == nil {
		r.queue = newQueue()
	}
	return r.queue
}

// release frees the day's slot, and wakes the queued days if it held one.
func (r *Reconciler) release(ctx context.Context, day *v1alpha1.CloudTrailDay) {
	q := r.dayQueue()
	q.mu.Lock()
	held := q.slots[day.UID]
	delete(q.slots, day.UID)
	q.mu.Unlock()
	if !held {
		return
	}
	var list v1alpha1.CloudTrailDayList
	if err := r.Client.List(ctx, &list); err != nil {
		return // the queued days look again after queuedRecheck
	}
	var wake []*v1alpha1.CloudTrailDay
	for i := range list.Items {
		if stageOf(&list.Items[i].Status) == v1alpha1.StageQueued {
			wake = append(wake, &list.Items[i])
		}
	}
	slices.SortFunc(wake, func(a, b *v1alpha1.CloudTrailDay) int { return queuedOf(a).compare(queuedOf(b)) })
	for _, d := range wake {
		select {
		case q.wake <- ctrlevent.GenericEvent{Object: d}:
		default:
			return // full: the rest look again after queuedRecheck
		}
	}
}

// queuedMessage is the Ready message of a queued day.
func queuedMessage(a admission, limit int) string {
	return fmt.Sprintf("Waiting for a slot: %d of %d days running, %d queued before this one (oldest date first)", a.running, limit, a.ahead)
}
