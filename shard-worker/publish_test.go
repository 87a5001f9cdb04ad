package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/parquetrail/parquetrail/internal/commit"
	"github.com/parquetrail/parquetrail/internal/record"
	"github.com/parquetrail/parquetrail/internal/record/arrowcheck"
)

const dayDir = "proc_ymd=20261124"

// buildWorker builds this program, to run and kill it as a process.
func buildWorker(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "shard-worker")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func runArgs(src, dst string, extra ...string) []string {
	return append([]string{"run", "--source", src, "--destination", dst, "--date", "2026-11-24", "--time-zone", "Asia/Seoul",
		"--late-arrival", "12h", "--lease-ttl", "1s", "--quiet"}, extra...)
}

// published is a day as an independent reader (Arrow) sees it.
type published struct {
	Run      string
	Rows     int
	Distinct int
}

// dayFile is a file the day's manifest names, as an independent reader
// (Arrow) reads it.
type dayFile struct {
	Key  string
	Rows []record.Values
}

// dayFiles reads the day's manifest and every file it names, in its order.
func dayFiles(t *testing.T, dst string) (run string, rows int, files []dayFile) {
	t.Helper()
	var m struct {
		RunID string `json:"runID"`
		Rows  int    `json:"rows"`
		Files []struct {
			Key string `json:"key"`
		} `json:"files"`
	}
	b, err := os.ReadFile(filepath.Join(dst, dayDir, "_manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, f := range m.Files {
		data, err := os.ReadFile(filepath.Join(dst, filepath.FromSlash(f.Key)))
		if err != nil {
			t.Fatalf("the manifest names %s: %v", f.Key, err)
		}
		pf, err := arrowcheck.Read(data)
		if err != nil {
			t.Fatalf("%s: %v", f.Key, err)
		}
		files = append(files, dayFile{Key: f.Key, Rows: pf.Rows})
	}
	return m.RunID, m.Rows, files
}

// readDay reads the day's manifest and every file it names, and checks
// that the partition holds exactly those files besides the user's.
func readDay(t *testing.T, dst string, user []string) published {
	t.Helper()
	run, rows, files := dayFiles(t, dst)
	want := append([]string{dayDir + "/_manifest.json"}, user...)
	p := published{Run: run}
	ids := map[string]bool{}
	for _, f := range files {
		want = append(want, f.Key)
		for _, row := range f.Rows {
			p.Rows++
			if id, ok := row["eventid"].(string); ok {
				ids[id+"/"+row["eventtime"].(time.Time).String()] = true
			} else {
				ids[strings.Repeat("-", p.Rows)] = true // no eventid: its own event
			}
		}
	}
	p.Distinct = len(ids)
	if p.Rows != rows {
		t.Errorf("read %d rows, the manifest says %d", p.Rows, rows)
	}
	var got []string
	filepath.WalkDir(filepath.Join(dst, dayDir), func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(dst, path)
			got = append(got, filepath.ToSlash(rel))
		}
		return nil
	})
	slices.Sort(want)
	slices.Sort(got)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("the partition is not exactly the manifest's files and the user's (-want +got):\n%s", diff)
	}
	return p
}

// noLeftovers: no staging, journal, lease or temporary file is left.
func noLeftovers(t *testing.T, dst string) {
	t.Helper()
	for _, dir := range []string{"staging", "journal", "locks"} {
		filepath.WalkDir(filepath.Join(dst, "_parquetrail", dir), func(path string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				t.Errorf("left behind: %s", path)
			}
			return nil
		})
	}
	des, _ := os.ReadDir(filepath.Join(dst, "_parquetrail", "tmp"))
	for _, de := range des {
		if de.Name() != ".parquetrail-tmp-cas.lock" {
			t.Errorf("temporary file left behind: %s", de.Name())
		}
	}
}

// TestKilledRunIsRecovered kills a real worker (SIGKILL) at each step of a
// run of a day that is already published; the partition always names a
// complete set, and the next run finishes or undoes the interrupted switch:
// the day is exactly one set of files, every event once, the user's files
// kept, nothing left behind.
func TestKilledRunIsRecovered(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the worker as a process")
	}
	bin := buildWorker(t)
	src := demoDay(t)
	user := []string{dayDir + "/_SUCCESS", dayDir + "/notes.txt", dayDir + "/sub/keep.parquet"}
	for i, fp := range []string{"run.planning", "run.flattening", "run.merged", "commit.after-copy", "commit.before-manifest", "commit.after-manifest", "commit.during-delete"} {
		t.Run(fp, func(t *testing.T) {
			dst := t.TempDir()
			for _, u := range user {
				p := filepath.Join(dst, filepath.FromSlash(u))
				os.MkdirAll(filepath.Dir(p), 0o755)
				os.WriteFile(p, []byte("the user's"), 0o644)
			}
			if out, err := exec.Command(bin, runArgs(src, dst)...).CombinedOutput(); err != nil {
				t.Fatalf("first run: %v\n%s", err, out)
			}
			old := readDay(t, dst, user)
			if old.Rows == 0 || old.Distinct != old.Rows {
				t.Fatalf("first run: %+v", old)
			}

			cmd := exec.Command(bin, runArgs(src, dst)...)
			cmd.Env = append(os.Environ(), commit.FailpointEnv+"="+fp)
			stderr, _ := cmd.StderrPipe()
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			reached := make(chan bool)
			go func() {
				sc := bufio.NewScanner(stderr)
				for sc.Scan() {
					if strings.Contains(sc.Text(), "failpoint "+fp+" reached") {
						reached <- true
						return
					}
				}
				close(reached)
			}()
			select {
			case ok := <-reached:
				if !ok {
					cmd.Process.Kill()
					cmd.Wait()
					t.Fatalf("the worker ended without reaching %s", fp)
				}
			case <-time.After(2 * time.Minute):
				cmd.Process.Kill()
				t.Fatalf("the worker did not reach %s", fp)
			}
			cmd.Process.Kill() // SIGKILL
			cmd.Wait()

			// Whatever the step, the manifest names a complete set.
			var m struct {
				Files []struct{ Key string } `json:"files"`
			}
			b, err := os.ReadFile(filepath.Join(dst, dayDir, "_manifest.json"))
			if err != nil || json.Unmarshal(b, &m) != nil || len(m.Files) == 0 {
				t.Fatalf("after the kill the manifest is unreadable: %v", err)
			}
			for _, f := range m.Files {
				if _, err := os.Stat(filepath.Join(dst, filepath.FromSlash(f.Key))); err != nil {
					t.Errorf("after the kill the manifest names a missing file: %v", err)
				}
			}
			if i == 0 {
				// The dead run's lease holds the day until it expires:
				// a run now fails naming it.
				var out, errb bytes.Buffer
				code := run(context.Background(), runArgs(src, dst), &out, &errb)
				if code != 1 || !strings.Contains(errb.String(), "is being published by run") {
					t.Errorf("run during the dead run's lease: exit %d: %s", code, errb.String())
				}
			}

			time.Sleep(1100 * time.Millisecond) // the dead run's lease expires
			out, err := exec.Command(bin, runArgs(src, dst)...).CombinedOutput()
			if err != nil {
				t.Fatalf("the run after the kill: %v\n%s", err, out)
			}
			got := readDay(t, dst, user)
			if got.Rows != old.Rows || got.Distinct != old.Distinct || got.Run == old.Run {
				t.Errorf("after recovery the day is %+v, want the rows of %+v in a new run", got, old)
			}
			noLeftovers(t, dst)
		})
	}
}

// TestRunRefusals: runs that would empty or damage a day are refused with
// the documented exit code, before anything is published.
func TestRunRefusals(t *testing.T) {
	src := demoDay(t)
	dst := t.TempDir()
	ctx := context.Background()
	var out, errb bytes.Buffer
	if code := run(ctx, runArgs(src, dst), &out, &errb); code != 0 {
		t.Fatalf("first run: exit %d: %s", code, errb.String())
	}
	before := readDay(t, dst, nil)
	today := time.Now().UTC().Format("2006-01-02")
	cases := []struct {
		name string
		args []string
		code int
		says string
	}{
		{"no log file selected", runArgs(src, dst, "--accounts", "999999999999"), 3, "no log file selected for 2026-11-24"},
		{"open window", []string{"run", "--source", src, "--destination", dst, "--date", today}, 2, "closes at"},
		{"destination inside the source", runArgs(src, filepath.Join(src, "out")), 2, "overlap"},
		{"source inside the destination", runArgs(filepath.Join(dst, dayDir), dst), 2, "overlap"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := run(ctx, c.args, &out, &errb)
			if code != c.code || !strings.Contains(errb.String(), c.says) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, errb.String(), c.code, c.says)
			}
			if after := readDay(t, dst, nil); after != before {
				t.Errorf("the day changed: %+v, was %+v", after, before)
			}
			noLeftovers(t, dst)
		})
	}
	// Asked for, an empty day is published.
	if code := run(ctx, runArgs(src, dst, "--accounts", "999999999999", "--allow-empty"), &out, &errb); code != 0 {
		t.Fatalf("--allow-empty: exit %d: %s", code, errb.String())
	}
	if after := readDay(t, dst, nil); after.Rows != 0 {
		t.Errorf("--allow-empty published %+v", after)
	}
}
