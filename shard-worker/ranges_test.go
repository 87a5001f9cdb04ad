package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/parquetrail/parquetrail/internal/record"
	"github.com/parquetrail/parquetrail/internal/sample"
)

// bigDemoDay is a demo day of several MiB of gzip, for several shards of
// the smallest shard size (1 MiB).
func bigDemoDay(t *testing.T) string {
	t.Helper()
	o := sample.Demo()
	o.Records = 30000
	o.Files = 60
	dir := t.TempDir()
	st, err := sample.Generate(context.Background(), o, sample.Dir(dir))
	if err != nil {
		t.Fatal(err)
	}
	if st.Rows == 0 {
		t.Fatal("the demo day has no rows")
	}
	return dir
}

// stage runs one command of this program in process and returns its
// standard output; it fails the test on a non-zero exit.
func stage(t *testing.T, args ...string) string {
	t.Helper()
	var out, errb bytes.Buffer
	if code := run(context.Background(), args, &out, &errb); code != 0 {
		t.Fatalf("%s: exit %d: %s", strings.Join(args, " "), code, errb.String())
	}
	return out.String()
}

// dayRows are the published day's rows in the manifest's file order, and
// its files.
func dayRows(t *testing.T, dst string) ([]record.Values, []string) {
	t.Helper()
	_, _, files := dayFiles(t, dst)
	var rows []record.Values
	var keys []string
	for _, f := range files {
		rows = append(rows, f.Rows...)
		keys = append(keys, f.Key)
	}
	return rows, keys
}

// TestMergeByRanges runs a day as the operator's pods do with a merge split
// by time: plan, flatten per shard, merge-plan, merge --ranges per index (in
// reverse order, one index twice as a retried pod would), publish; the day
// equals shard-worker run's row for row.
func TestMergeByRanges(t *testing.T) {
	src := bigDemoDay(t)
	day := []string{"--date", "2026-11-24", "--time-zone", "Asia/Seoul", "--late-arrival", "12h"}
	want := t.TempDir()
	stage(t, append([]string{"run", "--source", src, "--destination", want}, day...)...)

	dst := t.TempDir()
	out := stage(t, append([]string{"plan", "--source", src, "--destination", dst, "--shard-size", "1", "--max-shards", "5"}, day...)...)
	key := regexp.MustCompile(`(?m)^plan (\S+)`).FindStringSubmatch(out)[1]
	shards, _ := strconv.Atoi(regexp.MustCompile(`(?m)^shards (\d+)`).FindStringSubmatch(out)[1])
	if shards < 2 {
		t.Fatalf("want several shards, planned %d", shards)
	}
	for i := range shards {
		stage(t, "flatten", "--destination", dst, "--plan", key, "--index", strconv.Itoa(i), "--quiet")
	}
	out = stage(t, "merge-plan", "--destination", dst, "--plan", key, "--indices", "4")
	ranges := regexp.MustCompile(`(?m)^ranges (\S+)`).FindStringSubmatch(out)[1]
	n := strings.Count(ranges, ",")
	if n < 3 {
		t.Fatalf("want at least 3 ranges, merge-plan printed:\n%s", out)
	}
	for i := n - 1; i >= 0; i-- {
		stage(t, "merge", "--destination", dst, "--plan", key, "--ranges", ranges, "--index", strconv.Itoa(i), "--quiet")
	}
	stage(t, "merge", "--destination", dst, "--plan", key, "--ranges", ranges, "--index", "1", "--quiet")
	// Nothing is published before the ranges are joined.
	if _, err := os.Stat(filepath.Join(dst, dayDir, "_manifest.json")); !os.IsNotExist(err) {
		t.Fatalf("the day's manifest exists before publish: %v", err)
	}
	stage(t, "publish", "--destination", dst, "--plan", key, "--ranges", ranges)

	wantRows, _ := dayRows(t, want)
	gotRows, keys := dayRows(t, dst)
	if len(gotRows) == 0 {
		t.Fatal("no rows published")
	}
	if diff := cmp.Diff(wantRows, gotRows); diff != "" {
		t.Errorf("the day merged by ranges differs from shard-worker run's (-run +ranges):\n%s", diff)
	}
	// Every range wrote its own files.
	seen := map[string]bool{}
	for _, k := range keys {
		if m := regexp.MustCompile(`part-\S+-(\d{4})-\d{5}\.parquet$`).FindStringSubmatch(k); m != nil {
			seen[m[1]] = true
		}
	}
	if len(seen) != n {
		t.Errorf("files of %d ranges in the manifest, want %d: %v", len(seen), n, keys)
	}
	readDay(t, dst, nil)
	noLeftovers(t, dst)
}

// TestMergeByRangesRefusals: a range index out of the bounds, bounds that do
// not cover the day, and publishing before every range merged.
func TestMergeByRangesRefusals(t *testing.T) {
	src := bigDemoDay(t)
	day := []string{"--date", "2026-11-24", "--time-zone", "Asia/Seoul", "--late-arrival", "12h"}
	dst := t.TempDir()
	out := stage(t, append([]string{"plan", "--source", src, "--destination", dst, "--shard-size", "1", "--max-shards", "2"}, day...)...)
	key := regexp.MustCompile(`(?m)^plan (\S+)`).FindStringSubmatch(out)[1]
	shards, _ := strconv.Atoi(regexp.MustCompile(`(?m)^shards (\d+)`).FindStringSubmatch(out)[1])
	for i := range shards {
		stage(t, "flatten", "--destination", dst, "--plan", key, "--index", strconv.Itoa(i), "--quiet")
	}
	ranges := regexp.MustCompile(`(?m)^ranges (\S+)`).FindStringSubmatch(stage(t, "merge-plan", "--destination", dst, "--plan", key, "--indices", "2"))[1]
	for _, tt := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"merge", "--ranges", ranges, "--index", "7"}, 2, "merge index 7 of 2 ranges"},
		{[]string{"merge", "--ranges", "0,10"}, 2, "JOB_COMPLETION_INDEX"},
		{[]string{"merge", "--index", "0"}, 2, "--index needs --ranges"},
		{[]string{"merge", "--ranges", "0,10", "--index", "0"}, 1, "from 0 to"},
		{[]string{"merge", "--ranges", "0,x"}, 2, "not a range number"},
		{[]string{"publish", "--ranges", ranges}, 1, "range 0 has no manifest"},
		{[]string{"publish"}, 2, "--ranges is required"},
	} {
		var o, e bytes.Buffer
		args := append(append([]string(nil), tt.args...), "--destination", dst, "--plan", key)
		code := run(context.Background(), args, &o, &e)
		if code != tt.code || !strings.Contains(e.String(), tt.msg) {
			t.Errorf("%v: exit %d, %q; want exit %d naming %q", tt.args, code, e.String(), tt.code, tt.msg)
		}
	}
	if _, err := os.Stat(filepath.Join(dst, dayDir, "_manifest.json")); !os.IsNotExist(err) {
		t.Errorf("a refused publish wrote the day's manifest: %v", err)
	}
}
