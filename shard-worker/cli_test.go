package main

import (
	"bytes"
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/parquetrail/parquetrail/internal/pipeline"
)

func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

// TestHelp checks what a new user reads first: grouped commands with
// examples, grouped flags naming their environment variables, and no
// developer flags.
func TestHelp(t *testing.T) {
	for _, tc := range []struct {
		args    []string
		has     []string
		hasNot  []string
		inOrder []string
	}{
		{[]string{"--help"},
			[]string{"Examples:", "shard-worker run --source", "completion bash", "PARQUETRAIL_TIME_ZONE", "Exit codes:"},
			nil,
			[]string{"Convert a day:", "  run ", "Stages the operator's Jobs run:", "  flatten ", "  merge ", "  plan ", "Columns and tables:", "  athena ", "  columns ", "Other commands:", "  completion ", "  version "}},
		{[]string{"run", "--help"},
			[]string{"--types spark --late-arrival folder", "[$PARQUETRAIL_SOURCE]", "[$PARQUETRAIL_KEEP_RUNS]", `(default 1h)`},
			[]string{"cpu-profile", "Usage of run"},
			[]string{"Examples:", "Day flags:", "--source", "--date", "Output flags:", "--columns", "--types", "Work flags:", "Store flags:", "Global Flags:", "--log-format"}},
		{[]string{"help", "flatten"},
			[]string{"JOB_COMPLETION_INDEX", "Examples:", "--index int"},
			[]string{"(default -1)"}, nil},
		{[]string{"athena", "-h"}, []string{"partition projection", "--types string"}, nil, nil},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, out, errb := runCLI(t, tc.args...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errb)
			}
			for _, s := range tc.has {
				if !strings.Contains(out, s) {
					t.Errorf("help does not say %q:\n%s", s, out)
				}
			}
			for _, s := range tc.hasNot {
				if strings.Contains(out, s) {
					t.Errorf("help says %q:\n%s", s, out)
				}
			}
			at := 0
			for _, s := range tc.inOrder {
				i := strings.Index(out[at:], s)
				if i < 0 {
					t.Errorf("help has no %q after byte %d:\n%s", s, at, out)
					break
				}
				at += i + len(s)
			}
		})
	}
}

// TestTypos: a mistyped command or flag gets a suggestion and a pointer to
// the help, not the whole flag list, and exit code 2.
func TestTypos(t *testing.T) {
	for _, tc := range []struct {
		args []string
		says []string
	}{
		{[]string{"rn"}, []string{`unknown command "rn"`, "Did you mean this?\n\trun", "Run 'shard-worker --help'"}},
		{[]string{"colums"}, []string{"Did you mean this?\n\tcolumns"}},
		{[]string{"run", "--dat", "2026-11-24"}, []string{"unknown flag: --dat", "Did you mean this?\n\t--date", "Run 'shard-worker run --help'"}},
		{[]string{"run", "--time-zon", "UTC"}, []string{"--time-zone"}},
		{[]string{"run", "-date", "2026-11-24"}, []string{"Flags take two dashes: --date"}},
		{[]string{"columns", "extra"}, []string{`unexpected argument "extra"`}},
		{[]string{"run", "--late-arrival", "soon"}, []string{"--late-arrival", `"folder"`}},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, out, errb := runCLI(t, tc.args...)
			if code != 2 {
				t.Errorf("exit %d, want 2", code)
			}
			for _, s := range tc.says {
				if !strings.Contains(errb, s) {
					t.Errorf("stderr does not say %q:\n%s", s, errb)
				}
			}
			if strings.Contains(errb, "--organization-id") || out != "" {
				t.Errorf("a typo printed the flag list or to stdout:\nstdout: %s\nstderr: %s", out, errb)
			}
		})
	}
}

// TestEnvironment: every flag from PARQUETRAIL_<FLAG>; the command line wins.
func TestEnvironment(t *testing.T) {
	t.Setenv("PARQUETRAIL_COLUMNS", "seed")
	t.Setenv("PARQUETRAIL_LOCAL_TIME_COLUMN", "eventtime_kst")
	t.Setenv("PARQUETRAIL_TYPES", "spark")
	code, out, errb := runCLI(t, "columns")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errb)
	}
	lines := strings.Split(out, "\n")
	if len(lines) < 2 || !strings.HasPrefix(lines[1], "proc_ymd ") ||
		!regexp.MustCompile(`(?m)^eventtime_kst +string +-$`).MatchString(out) ||
		!regexp.MustCompile(`(?m)^requestparameters +map<string,string> +requestParameters$`).MatchString(out) {
		t.Errorf("columns from the environment (seed, spark, eventtime_kst):\n%s", out)
	}
	// The flag wins over the variable.
	code, out, _ = runCLI(t, "columns", "--types", "typed")
	if code != 0 || strings.Contains(out, "proc_ymd") || !strings.Contains(out, "timestamp(ms, local)") {
		t.Errorf("--types typed did not win over PARQUETRAIL_TYPES=spark:\n%s", out)
	}
	// A bad value names its variable, and is a usage error.
	t.Setenv("PARQUETRAIL_TYPES", "")
	t.Setenv("PARQUETRAIL_KEEP_RUNS", "many")
	code, _, errb = runCLI(t, "run", "--source", t.TempDir(), "--destination", t.TempDir(), "--date", "2026-11-24")
	if code != 2 || !strings.Contains(errb, `PARQUETRAIL_KEEP_RUNS="many"`) {
		t.Errorf("exit %d, stderr %s", code, errb)
	}
}

func TestCompletion(t *testing.T) {
	for shell, marker := range map[string]string{"bash": "__start_shard-worker", "zsh": "#compdef shard-worker", "fish": "complete -c shard-worker"} {
		code, out, errb := runCLI(t, "completion", shell)
		if code != 0 || !strings.Contains(out, marker) {
			t.Errorf("completion %s: exit %d, no %q in %d bytes; %s", shell, code, marker, len(out), errb)
		}
	}
	// What the shell asks for while the user types: commands, then flags.
	_, out, _ := runCLI(t, "__complete", "")
	for _, c := range []string{"run", "plan", "flatten", "merge", "columns", "athena"} {
		if !strings.Contains(out, c+"\t") {
			t.Errorf("completing a command does not offer %s:\n%s", c, out)
		}
	}
	_, out, _ = runCLI(t, "__complete", "run", "--late")
	if !strings.Contains(out, "--late-arrival") {
		t.Errorf("completing --late does not offer --late-arrival:\n%s", out)
	}
}

func TestVersion(t *testing.T) {
	_, a, _ := runCLI(t, "--version")
	_, b, _ := runCLI(t, "version")
	if a != b || !strings.HasPrefix(a, "shard-worker ") || strings.TrimSpace(a) == "shard-worker dev" {
		t.Errorf("--version %q, version %q", a, b)
	}
	version = "v1.2.3"
	defer func() { version = "" }()
	if _, out, _ := runCLI(t, "--version"); out != "shard-worker v1.2.3\n" {
		t.Errorf("with -ldflags: %q", out)
	}
}

// TestProgressWithoutTTY: a run whose stderr is not a terminal logs its
// progress (here every 5 ms instead of 10 s), as JSON with --log-format json.
func TestProgressWithoutTTY(t *testing.T) {
	defer func(d time.Duration) { progressEvery = d }(progressEvery)
	progressEvery = 5 * time.Millisecond
	src := demoDay(t)
	code, _, errb := runCLI(t, "run", "--source", src, "--destination", t.TempDir(), "--date", "2026-11-24",
		"--time-zone", "Asia/Seoul", "--late-arrival", "12h", "--columns", "seed", "--log-format", "json", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errb)
	}
	stages := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(errb), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("stderr line is not JSON: %q", line)
		}
		st, _ := rec["stage"].(string)
		stages[st] = true
		if st == "flatten" && !strings.Contains(rec["msg"].(string), "records") {
			t.Errorf("flatten progress %v", rec)
		}
	}
	if d := cmp.Diff(map[string]bool{"plan": true, "flatten": true, "merge": true}, stages); d != "" {
		t.Errorf("progress stages logged (-want +got):\n%s\n%s", d, errb)
	}
}

func TestProgressLine(t *testing.T) {
	for _, tc := range []struct {
		p    pipeline.Progress
		want string
	}{
		{pipeline.Progress{Stage: "plan", FoldersListed: 3, FoldersTotal: 12, ObjectsListed: 12345, Elapsed: 2 * time.Second},
			"plan: 3/12 date folders listed, 12,345 objects, 2s"},
		{pipeline.Progress{Stage: "flatten", ShardsDone: 1, ShardsTotal: 4, RecordsRead: 250000, BytesRead: 100 << 20, BytesTotal: 400 << 20, Elapsed: 10 * time.Second},
			"flatten: 1/4 shards, 250,000 records, 100.0 MiB of 400.0 MiB (25%), 10.0 MiB/s, 25,000 records/s, ETA 30s, 10s"},
		{pipeline.Progress{Stage: "merge", RowsMerged: 300000, RowsTotal: 900000, Elapsed: 3 * time.Second},
			"merge: 300,000 of 900,000 rows (33%), 100,000 rows/s, ETA 6s, 3s"},
	} {
		if got := progressLine(tc.p); got != tc.want {
			t.Errorf("progressLine(%+v)\n got %q\nwant %q", tc.p, got, tc.want)
		}
	}
}

func TestAthenaSparkTypes(t *testing.T) {
	code, out, errb := runCLI(t, "athena", "--location", "s3://lake/ct", "--columns", "seed", "--types", "spark", "--local-time-column", "eventtime_kst")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errb)
	}
	for _, s := range []string{"`requestparameters` map<string,string>,", "`eventtime_kst` string,", "PARTITIONED BY (`proc_ymd` string)"} {
		if !strings.Contains(out, s) {
			t.Errorf("DDL has no %q:\n%s", s, out)
		}
	}
	if code, _, errb := runCLI(t, "athena", "--location", "s3://lake/ct", "--types", "spark"); code != 2 || !strings.Contains(errb, `need the "seed" column set`) {
		t.Errorf("spark types with the full set: exit %d, %s", code, errb)
	}
}
