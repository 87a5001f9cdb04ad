package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/parquetrail/parquetrail/internal/problem"
	"github.com/parquetrail/parquetrail/internal/sample"
)

func demoDay(t *testing.T) string {
	t.Helper()
	o := sample.Demo()
	o.Records = 2000
	o.Files = 30
	dir := t.TempDir()
	if _, err := sample.Generate(context.Background(), o, sample.Dir(dir)); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestRunPrintsJSONSummary(t *testing.T) {
	src := demoDay(t)
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"run", "--source", src, "--destination", t.TempDir(),
		"--date", "2026-11-24", "--time-zone", "Asia/Seoul", "--columns", "seed", "--local-time-column", "eventtime_kst",
		"--late-arrival", "12h", "--json"}, &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	var s struct {
		Records struct{ Read, Written, OutsideWindow, Duplicates, Malformed int64 }
		Output  string
	}
	if err := json.Unmarshal(out.Bytes(), &s); err != nil {
		t.Fatalf("--json printed %q: %v", out.String(), err)
	}
	r := s.Records
	if r.Written == 0 || r.Malformed == 0 || r.Read != r.Written+r.OutsideWindow+r.Duplicates+r.Malformed {
		t.Errorf("summary records %+v", r)
	}
	if !strings.HasSuffix(s.Output, "proc_ymd=20261124/") {
		t.Errorf("output %q", s.Output)
	}
}

func TestExitCodes(t *testing.T) {
	src := demoDay(t)
	cases := []struct {
		name string
		args []string
		code int
		says string
	}{
		{"no command", nil, 2, "Usage"},
		{"unknown command", []string{"frobnicate"}, 2, "unknown command"},
		{"missing flags", []string{"run", "--source", src}, 2, "--destination"},
		{"bad date", []string{"run", "--source", src, "--destination", t.TempDir(), "--date", "2026-02-30"}, 2, "2026-02-30"},
		{"bad zone", []string{"run", "--source", src, "--destination", t.TempDir(), "--date", "2026-11-24", "--time-zone", "Mars/Olympus"}, 2, "Mars/Olympus"},
		{"bad input, fail policy", []string{"run", "--source", src, "--destination", t.TempDir(), "--date", "2026-11-24",
			"--time-zone", "Asia/Seoul", "--late-arrival", "12h", "--on-malformed", "fail"}, problem.ExitBadInput, ".json.gz"},
		{"flatten without index", []string{"flatten", "--destination", t.TempDir(), "--plan", "p.json"}, 2, "JOB_COMPLETION_INDEX"},
		{"athena without location", []string{"athena"}, 2, "s3://"},
	}
	t.Setenv("JOB_COMPLETION_INDEX", "")
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := run(context.Background(), c.args, &out, &errb)
			if code != c.code {
				t.Errorf("exit %d, want %d; stderr: %s", code, c.code, errb.String())
			}
			if !strings.Contains(errb.String()+out.String(), c.says) {
				t.Errorf("output does not say %q:\n%s%s", c.says, out.String(), errb.String())
			}
		})
	}
}

func TestColumnsAndAthena(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"columns", "--columns", "seed", "--local-time-column", "eventtime_kst"}, &out, &errb); code != 0 {
		t.Fatalf("columns: exit %d: %s", code, errb.String())
	}
	if lines := strings.Count(out.String(), "\n"); lines != 42 { // header + 41 columns
		t.Errorf("columns printed %d lines:\n%s", lines, out.String())
	}
	out.Reset()
	if code := run(context.Background(), []string{"athena", "--location", "s3://lake/ct", "--columns", "seed"}, &out, &errb); code != 0 {
		t.Fatalf("athena: exit %d: %s", code, errb.String())
	}
	if !strings.Contains(out.String(), "'storage.location.template'='s3://lake/ct/proc_ymd=${proc_ymd}/'") {
		t.Errorf("athena DDL:\n%s", out.String())
	}
}
