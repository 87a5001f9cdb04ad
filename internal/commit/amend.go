package commit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"strings"
	"time"

	"github.com/parquetrail/parquetrail/internal/plan"
	"github.com/parquetrail/parquetrail/internal/store"
)

// Amend changes some files of a day without replacing the run that
// published it: another day's run adding a file of late records (and
// retiring the one it added before). manifest is the new manifest, derived
// from the one at version base ("" = no manifest yet); add are this run's
// files, staged at StagedKey(name), named late-<ymd>-part-<run>-NNNNN.parquet;
// remove are files the new manifest no longer names. The steps are
// Publish's: journal, copy-in, lease check, compare-and-swap of the
// manifest on base (the commit point), removal, journal dropped; a crash
// leaves the journal for Recover, which rolls forward when the manifest
// names every added file and none of the removed ones.
func (d *Day) Amend(ctx context.Context, base string, manifest []byte, add, remove []string) (*Result, error) {
	prefix := plan.PartitionPrefix(d.ymd)
	var nm manifestFiles
	if err := json.Unmarshal(manifest, &nm); err != nil {
		return nil, fmt.Errorf("commit: the amended manifest: %w", err)
	}
	named := map[string]bool{}
	for _, k := range nm.keys() {
		named[k] = true
	}
	for _, k := range add {
		name, ok := strings.CutPrefix(k, prefix)
		if m := lateFile.FindStringSubmatch(name); !ok || m == nil || m[1] != d.run || !named[k] {
			return nil, fmt.Errorf("commit: %s is not a late file of run %s in %s named by the amended manifest", k, d.run, prefix)
		}
	}
	for _, k := range remove {
		if named[k] {
			return nil, fmt.Errorf("commit: %s is both removed and named by the amended manifest", k)
		}
	}
	if err := d.alive(); err != nil {
		return nil, err
	}
	j := Journal{Version: 1, Run: d.run, Holder: d.holder, Created: d.now().UTC(),
		OldFiles: d.owned(remove), NewFiles: add, Amend: true}
	jb, _ := json.MarshalIndent(j, "", "  ")
	if _, err := store.PutIf(ctx, d.st, JournalKey(d.ymd), append(jb, '\n'), ""); err != nil {
		if errors.Is(err, store.ErrPrecondition) {
			return nil, fmt.Errorf("commit: a journal of an interrupted switch is pending at %s (recover first): %w", JournalKey(d.ymd), err)
		}
		return nil, fmt.Errorf("commit: writing the journal: %w", err)
	}
	began := time.Now()
	for _, k := range add {
		if err := store.Copy(ctx, d.st, StagedKey(d.ymd, d.run, path.Base(k)), k); err != nil {
			return nil, d.undo(ctx, &j, fmt.Errorf("commit: copying %s in: %w", k, err))
		}
	}
	if err := d.Check(ctx); err != nil {
		return nil, d.undo(ctx, &j, err)
	}
	mkey := plan.ManifestKey(d.ymd)
	if _, err := store.PutIf(ctx, d.st, mkey, manifest, base); err != nil {
		cur, rerr := d.readManifest(context.WithoutCancel(ctx))
		switch {
		case rerr != nil:
			return nil, fmt.Errorf("commit: amending the manifest: %w; the journal %s stays for the next run to finish or undo the switch (%v)", err, JournalKey(d.ymd), rerr)
		case amended(cur, &j):
		case errors.Is(err, store.ErrPrecondition):
			return nil, d.undo(ctx, &j, &ConflictError{Day: d.where(), Run: d.run, Other: cur.RunID})
		default:
			return nil, d.undo(ctx, &j, fmt.Errorf("commit: amending the manifest: %w; the day is left as it was", err))
		}
	}
	ctx = context.WithoutCancel(ctx)
	res := &Result{Deleted: j.OldFiles}
	if err := d.st.Delete(ctx, j.OldFiles...); err != nil {
		return res, fmt.Errorf("commit: amended; removing %v: %w (the next run of the day removes them)", j.OldFiles, err)
	}
	res.Mixed = time.Since(began)
	if err := d.st.Delete(ctx, JournalKey(d.ymd)); err != nil {
		return res, fmt.Errorf("commit: amended; removing the journal: %w", err)
	}
	return res, nil
}

// amended says whether the manifest cur is the outcome of the amending
// switch j: it names every file j adds and none it retires.
func amended(cur *manifestFiles, j *Journal) bool {
	if len(j.NewFiles)+len(j.OldFiles) == 0 {
		return false
	}
	named := map[string]bool{}
	for _, k := range cur.keys() {
		named[k] = true
	}
	for _, k := range j.NewFiles {
		if !named[k] {
			return false
		}
	}
	for _, k := range j.OldFiles {
		if named[k] {
			return false
		}
	}
	return true
}

// RecoverSwitch finishes or undoes an interrupted switch of the day, like
// Recover, but leaves staging alone: a run amending another day must not
// remove the staging of that day's own runs, which may still publish.
func (d *Day) RecoverSwitch(ctx context.Context) error {
	_, err := d.recoverJournal(ctx, &Recovery{})
	return err
}
