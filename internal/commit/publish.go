package commit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/parquetrail/parquetrail/internal/plan"
	"github.com/parquetrail/parquetrail/internal/problem"
	"github.com/parquetrail/parquetrail/internal/store"
)

// JournalKey is the journal of a day's switch in progress.
func JournalKey(ymd string) string { return "_parquetrail/journal/proc_ymd=" + ymd + ".json" }

// StagedKey is where a run writes a file that it publishes as
// PartitionPrefix(ymd)+name: in its staging area, outside the partition.
func StagedKey(ymd, run, name string) string {
	return plan.StagingPrefix(ymd, run) + "publish/" + name
}

// runIDPattern matches both kinds of run ID: those plan.NewRunID makes
// (shard-worker run) and those the operator makes (operatorRun).
const runIDPattern = `(\d{8}T\d{6}Z-[0-9a-f]{6}|(?:\d{8}T\d{6}Z-)?[0-9a-f]{12}-[1-9]\d{0,9})`

// ownFile is parquetrail's naming of a published file:
// part-<runID>-NNNNN.parquet, or part-<runID>-IIII-NNNNN.parquet for the
// files of range IIII of a range-partitioned merge.
var ownFile = regexp.MustCompile(`^part-` + runIDPattern + `(?:-\d{4})?-\d{5}\.parquet$`)

// lateFile is the naming of a file of late records that another day's run
// added to the day: late-<sourceYMD>-part-<runID>-NNNNN.parquet.
var lateFile = regexp.MustCompile(`^late-\d{8}-part-` + runIDPattern + `-\d{5}\.parquet$`)

// fileRun is the run that wrote a file of parquetrail's naming ("" when
// the name is not one).
func fileRun(name string) string {
	if m := ownFile.FindStringSubmatch(name); m != nil {
		return m[1]
	}
	if m := lateFile.FindStringSubmatch(name); m != nil {
		return m[1]
	}
	return ""
}

// runTime is the start time a run ID carries ("" when it is not one).
func runTime(run string) string {
	if len(run) < 16 {
		return ""
	}
	if _, err := time.Parse("20060102T150405Z", run[:16]); err != nil {
		return ""
	}
	return run[:16]
}

// Older says that run a started before run b: to the second, or, for two
// attempts of one CloudTrailDay, by attempt. Other runs of the same second
// are not ordered.
func Older(a, b string) bool {
	if da, aa := runAttempt(a); da != "" {
		if db, ab := runAttempt(b); db == da {
			return aa < ab
		}
	}
	ta, tb := runTime(a), runTime(b)
	return ta != "" && tb != "" && ta < tb
}

// Journal is the intent of a switch, written before the first new file
// enters the partition and removed after the last old one left it.
type Journal struct {
	Version  int       `json:"version"`
	Run      string    `json:"run"`
	Holder   string    `json:"holder"`
	Created  time.Time `json:"created"`
	OldRun   string    `json:"oldRun,omitempty"`
	OldFiles []string  `json:"oldFiles"` // what the manifest named before
	NewFiles []string  `json:"newFiles"` // what the run copies in
	// Amend marks a switch that changes some files of a day without
	// replacing its run (Day.Amend): OldFiles are the files it retires.
	Amend bool `json:"amend,omitempty"`
}

// manifestFiles is what the protocol reads of a day's manifest.
type manifestFiles struct {
	RunID string `json:"runID"`
	Files []struct {
		Key string `json:"key"`
	} `json:"files"`
}

func (m *manifestFiles) keys() []string {
	out := make([]string, 0, len(m.Files))
	for _, f := range m.Files {
		out = append(out, f.Key)
	}
	return out
}

// SupersededError: a newer run has published the day since this run
// started; publishing the older data over it is refused.
type SupersededError struct {
	Day, Run, Newer string
}

func (e *SupersededError) Error() string {
	return fmt.Sprintf("%s was published by run %s, which started after this run %s: refusing to replace newer output; start a new run to replace it",
		e.Day, e.Newer, e.Run)
}

// Unwrap makes the refusal bad input (exit 3): no retry of this run can
// publish.
func (e *SupersededError) Unwrap() error { return problem.ErrBadInput }

// RivalError: the day is published by a run of another CloudTrailDay for
// the same date and destination (Options.Rivals), which this run must not
// replace: of two such days, the first to publish keeps the day.
type RivalError struct {
	Day, Run, Other string
}

func (e *RivalError) Error() string {
	return fmt.Sprintf("%s was published by run %s of another CloudTrailDay for the same date and destination; this run %s does not replace it: rerun that CloudTrailDay to replace its output, or delete it (its output stays) and then rerun this one",
		e.Day, e.Other, e.Run)
}

// Unwrap makes the refusal bad input (exit 3): no retry of this run can
// publish while the other day exists.
func (e *RivalError) Unwrap() error { return problem.ErrBadInput }

// ConflictError: the manifest changed between the run's read of it and its
// compare-and-swap (a run that lost its lease, or a writer outside the
// protocol). The run's files were taken out again.
type ConflictError struct {
	Day, Run, Other string
}

func (e *ConflictError) Error() string {
	other := e.Other
	if other == "" {
		other = "something outside parquetrail"
	} else {
		other = "run " + other
	}
	return fmt.Sprintf("%s: the manifest was replaced by %s while run %s was publishing; this run's files were removed again", e.Day, other, e.Run)
}

// Result says what a switch did.
type Result struct {
	OldRun  string
	Deleted []string // files of earlier runs removed
	// Mixed is how long a reader listing the folder could see old and new
	// files together: from the first copy-in to the last delete.
	Mixed time.Duration
}

// Publish switches the day to the manifest (JSON with "runID" and
// "files[].key") whose files the run has written to StagedKey(name):
// journal, copy-in, compare-and-swap of the manifest (the commit point),
// removal of the earlier runs' files, journal dropped. On failure before
// the commit point the partition is left as it was; a crash anywhere
// leaves the journal for Recover.
func (d *Day) Publish(ctx context.Context, manifest []byte) (*Result, error) {
	var nm manifestFiles
	if err := json.Unmarshal(manifest, &nm); err != nil {
		return nil, fmt.Errorf("commit: the new manifest: %w", err)
	}
	if nm.RunID != d.run {
		return nil, fmt.Errorf("commit: the manifest is run %s's, this run is %s", nm.RunID, d.run)
	}
	prefix := plan.PartitionPrefix(d.ymd)
	newKeys := nm.keys()
	if err := d.alive(); err != nil {
		return nil, err
	}
	mkey := plan.ManifestKey(d.ymd)
	oldBody, oldVer, err := store.ReadVersion(ctx, d.st, mkey)
	var old manifestFiles
	switch {
	case store.IsNotExist(err):
		oldVer = ""
	case err != nil:
		return nil, fmt.Errorf("commit: reading the day's manifest: %w", err)
	default:
		if err := json.Unmarshal(oldBody, &old); err != nil {
			return nil, fmt.Errorf("commit: the day's manifest %s/%s is not parquetrail's: %w", d.st.URL(), mkey, err)
		}
	}
	if err := d.refusal(old.RunID); err != nil {
		return nil, err
	}
	// The run copies in its own files; late files of other days' runs
	// that the old manifest names may be carried over as they are.
	carried := map[string]bool{}
	for _, k := range old.keys() {
		if name, ok := strings.CutPrefix(k, prefix); ok && lateFile.MatchString(name) {
			carried[k] = true
		}
	}
	var copied []string
	for _, k := range newKeys {
		name, ok := strings.CutPrefix(k, prefix)
		switch {
		case ok && fileRun(name) == d.run:
			copied = append(copied, k)
		case carried[k]:
		default:
			return nil, fmt.Errorf("commit: %s is not a file of run %s in %s, nor a late file the day holds", k, d.run, prefix)
		}
	}
	j := Journal{Version: 1, Run: d.run, Holder: d.holder, Created: d.now().UTC(),
		OldRun: old.RunID, OldFiles: d.owned(old.keys()), NewFiles: copied}
	jb, _ := json.MarshalIndent(j, "", "  ")
	if _, err := store.PutIf(ctx, d.st, JournalKey(d.ymd), append(jb, '\n'), ""); err != nil {
		if errors.Is(err, store.ErrPrecondition) {
			return nil, fmt.Errorf("commit: a journal of an interrupted switch is pending at %s (recover first): %w", JournalKey(d.ymd), err)
		}
		return nil, fmt.Errorf("commit: writing the journal: %w", err)
	}
	Failpoint("commit.before-copy")

	began := time.Now()
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for _, k := range copied {
		g.Go(func() error {
			return store.Copy(gctx, d.st, StagedKey(d.ymd, d.run, path.Base(k)), k)
		})
	}
	if err := g.Wait(); err != nil {
		return nil, d.undo(ctx, &j, fmt.Errorf("commit: copying the new files in: %w", err))
	}
	Failpoint("commit.after-copy")
	if err := d.Check(ctx); err != nil {
		return nil, d.undo(ctx, &j, err)
	}

	// The commit point.
	Failpoint("commit.before-manifest")
	if _, err := store.PutIf(ctx, d.st, mkey, manifest, oldVer); err != nil {
		// The PUT may have landed and its answer been lost: the
		// manifest as it is now decides.
		cur, rerr := d.readManifest(context.WithoutCancel(ctx))
		switch {
		case rerr != nil:
			return nil, fmt.Errorf("commit: publishing the manifest: %w; the journal %s stays for the next run to finish or undo the switch (%v)", err, JournalKey(d.ymd), rerr)
		case cur.RunID == d.run:
			// Committed after all.
		case errors.Is(err, store.ErrPrecondition):
			return nil, d.undo(ctx, &j, &ConflictError{Day: d.where(), Run: d.run, Other: cur.RunID})
		default:
			return nil, d.undo(ctx, &j, fmt.Errorf("commit: publishing the manifest: %w; the day is left as it was", err))
		}
	}
	Failpoint("commit.after-manifest")

	// Committed: whatever fails from here, the day is the new one, and
	// what is left to delete is in the journal.
	ctx = context.WithoutCancel(ctx)
	stale, err := d.stale(ctx, old.keys(), newKeys)
	if err != nil {
		return nil, fmt.Errorf("commit: published; listing the earlier runs' files: %w (the next run of the day removes them)", err)
	}
	res := &Result{OldRun: old.RunID, Deleted: stale}
	for i, k := range stale {
		if err := d.st.Delete(ctx, k); err != nil {
			return res, fmt.Errorf("commit: published; removing %s: %w (the next run of the day removes the rest)", k, err)
		}
		if i == 0 {
			Failpoint("commit.during-delete")
		}
	}
	res.Mixed = time.Since(began)
	if err := d.st.Delete(ctx, JournalKey(d.ymd)); err != nil {
		return res, fmt.Errorf("commit: published; removing the journal: %w", err)
	}
	return res, nil
}

// refusal is why this run must not replace the day published by run
// published: a newer run's (SupersededError) or a rival's (RivalError).
func (d *Day) refusal(published string) error {
	if Older(d.run, published) {
		return &SupersededError{Day: d.where(), Run: d.run, Newer: published}
	}
	if od := RunDay(published); od != "" && od != RunDay(d.run) && slices.Contains(d.rivals, od) {
		return &RivalError{Day: d.where(), Run: d.run, Other: published}
	}
	return nil
}

// MayReplace fails, as Publish would, when the day as published now must
// not be replaced by this run: a merge checks it before its work, so that
// a refused run fails at once. Publish checks again at the commit point.
func (d *Day) MayReplace(ctx context.Context) error {
	cur, err := d.readManifest(ctx)
	if err != nil {
		return fmt.Errorf("commit: reading the day's manifest: %w", err)
	}
	return d.refusal(cur.RunID)
}

// alive fails when the lease was lost.
func (d *Day) alive() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.lost != nil {
		return d.lost
	}
	if d.released {
		return errors.New("commit: the lease was released")
	}
	return nil
}

// owned keeps the keys that a manifest may make parquetrail delete: files
// directly in the day's partition, never what lies elsewhere or deeper.
func (d *Day) owned(keys []string) []string {
	prefix := plan.PartitionPrefix(d.ymd)
	var out []string
	for _, k := range keys {
		name, ok := strings.CutPrefix(k, prefix)
		if ok && name != "" && !strings.Contains(name, "/") && strings.HasSuffix(name, ".parquet") {
			out = append(out, k)
		}
	}
	return out
}

// stale lists the files to remove after a switch: those the old manifest
// named, and any file of parquetrail's naming directly in the partition
// (an earlier run's leftover), that the new manifest does not name.
func (d *Day) stale(ctx context.Context, oldKeys, newKeys []string) ([]string, error) {
	keep := make(map[string]bool, len(newKeys))
	for _, k := range newKeys {
		keep[k] = true
	}
	seen := map[string]bool{}
	var out []string
	add := func(k string) {
		if !keep[k] && !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	for _, k := range d.owned(oldKeys) {
		add(k)
	}
	prefix := plan.PartitionPrefix(d.ymd)
	err := d.st.List(ctx, prefix, func(o store.Object) error {
		if name := strings.TrimPrefix(o.Key, prefix); fileRun(name) != "" {
			add(o.Key)
		}
		return nil
	})
	slices.Sort(out)
	return out, err
}

func (d *Day) readManifest(ctx context.Context) (*manifestFiles, error) {
	b, _, err := store.ReadVersion(ctx, d.st, plan.ManifestKey(d.ymd))
	var m manifestFiles
	if store.IsNotExist(err) {
		return &m, nil
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%s: %w", plan.ManifestKey(d.ymd), err)
	}
	return &m, nil
}

// undo takes the run's new files out of the partition (those the manifest
// does not name now) and drops the journal; cause is returned, with what
// undoing could not do. A run that cannot undo leaves the journal to the
// next run.
func (d *Day) undo(ctx context.Context, j *Journal, cause error) error {
	ctx = context.WithoutCancel(ctx)
	cur, err := d.readManifest(ctx)
	if err != nil {
		return fmt.Errorf("%w; undoing the switch: %v (the journal stays for the next run)", cause, err)
	}
	if _, err := d.rollBack(ctx, j, cur); err != nil {
		return fmt.Errorf("%w; undoing the switch: %v (the journal stays for the next run)", cause, err)
	}
	return cause
}

func (d *Day) rollBack(ctx context.Context, j *Journal, cur *manifestFiles) ([]string, error) {
	named := map[string]bool{}
	for _, k := range cur.keys() {
		named[k] = true
	}
	var del []string
	for _, k := range j.NewFiles {
		if !named[k] {
			del = append(del, k)
		}
	}
	if err := d.st.Delete(ctx, del...); err != nil {
		return nil, err
	}
	return del, d.st.Delete(ctx, JournalKey(d.ymd))
}

// Recovery says what Recover found and did.
type Recovery struct {
	Journal        *Journal // the interrupted switch, if any
	Forward        bool     // it had committed: its old files were removed
	Deleted        []string // partition files removed
	StagingRemoved []string // runs whose staging was removed
	TempRemoved    int      // temporary files of killed local writers
}

// StaleTemp is how long a local temporary file stays untouched before the
// next run takes its writer for dead.
const StaleTemp = 10 * time.Minute

// Recover finishes or undoes an interrupted switch of the day (a journal
// left by a run that crashed or could not undo), and removes the staging
// of runs older than this one (they can no longer publish: Publish refuses
// to replace newer output), except other CloudTrailDays' attempts, and the
// stale temporary files of killed local writers. The holder calls it
// before anything else.
func (d *Day) Recover(ctx context.Context) (*Recovery, error) {
	if err := d.alive(); err != nil {
		return nil, err
	}
	rec, err := d.recoverJournal(ctx, &Recovery{})
	if err != nil {
		return nil, err
	}
	dirs, err := d.st.ListDirs(ctx, plan.DayStagingPrefix(d.ymd))
	if err != nil {
		return nil, fmt.Errorf("commit: listing staging: %w", err)
	}
	for _, dir := range dirs {
		run := path.Base(strings.TrimSuffix(dir, "/"))
		if run == d.run || !Older(run, d.run) {
			continue // this run's, or a newer run's that may be alive
		}
		if rd := RunDay(run); rd != "" && rd != RunDay(d.run) {
			// Another CloudTrailDay's attempt holds no lease while it
			// flattens: it may be alive. The operator removes its staging.
			continue
		}
		if err := RemoveStaging(ctx, d.st, d.ymd, run); err != nil {
			return nil, err
		}
		rec.StagingRemoved = append(rec.StagingRemoved, run)
	}
	n, err := store.CleanTemp(d.st, StaleTemp)
	if err != nil {
		return nil, err
	}
	rec.TempRemoved = n
	return rec, nil
}

// recoverJournal finishes (the manifest is the switch's outcome) or undoes
// the switch a journal of the day records, if any.
func (d *Day) recoverJournal(ctx context.Context, rec *Recovery) (*Recovery, error) {
	jb, _, err := store.ReadVersion(ctx, d.st, JournalKey(d.ymd))
	switch {
	case store.IsNotExist(err):
	case err != nil:
		return rec, fmt.Errorf("commit: reading the journal: %w", err)
	default:
		var j Journal
		if err := json.Unmarshal(jb, &j); err != nil {
			return rec, fmt.Errorf("commit: the journal %s: %w", JournalKey(d.ymd), err)
		}
		rec.Journal = &j
		cur, err := d.readManifest(ctx)
		if err != nil {
			return rec, fmt.Errorf("commit: recovering run %s's switch: %w", j.Run, err)
		}
		if cur.RunID == j.Run || j.Amend && amended(cur, &j) {
			// Committed: finish the deletions.
			rec.Forward = true
			named := map[string]bool{}
			for _, k := range cur.keys() {
				named[k] = true
			}
			var del []string
			for _, k := range d.owned(j.OldFiles) {
				if !named[k] {
					del = append(del, k)
				}
			}
			if err := d.st.Delete(ctx, del...); err != nil {
				return rec, fmt.Errorf("commit: finishing run %s's switch: %w", j.Run, err)
			}
			if err := d.st.Delete(ctx, JournalKey(d.ymd)); err != nil {
				return rec, fmt.Errorf("commit: finishing run %s's switch: %w", j.Run, err)
			}
			rec.Deleted = del
		} else {
			del, err := d.rollBack(ctx, &j, cur)
			if err != nil {
				return rec, fmt.Errorf("commit: undoing run %s's switch: %w", j.Run, err)
			}
			rec.Deleted = del
		}
	}
	return rec, nil
}

// RemoveStaging removes a run's staging area.
func RemoveStaging(ctx context.Context, st store.Store, ymd, run string) error {
	if run == "" || strings.Contains(run, "/") {
		return fmt.Errorf("commit: refusing to remove staging of run %q", run)
	}
	var keys []string
	if err := st.List(ctx, plan.StagingPrefix(ymd, run), func(o store.Object) error {
		keys = append(keys, o.Key)
		return nil
	}); err != nil {
		return fmt.Errorf("commit: listing the staging of run %s: %w", run, err)
	}
	if err := st.Delete(ctx, keys...); err != nil {
		return fmt.Errorf("commit: removing the staging of run %s: %w", run, err)
	}
	return nil
}

// FailpointEnv names the failpoint at which a process stops, for tests
// that kill a real worker at a chosen step: when the process reaches it, it
// prints "failpoint NAME reached" on stderr and blocks until killed.
const FailpointEnv = "PARQUETRAIL_FAILPOINT"

var failpoint = sync.OnceValue(func() string { return os.Getenv(FailpointEnv) })

// Failpoint blocks forever when the failpoint name is set (see FailpointEnv).
func Failpoint(name string) {
	if failpoint() != name {
		return
	}
	fmt.Fprintf(os.Stderr, "failpoint %s reached\n", name)
	for {
		time.Sleep(time.Hour)
	}
}
