package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/parquetrail/parquetrail/controllers"
)

func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	// --kubeconfig is controller-runtime's package variable: a test that
	// sets it must not leave it to the next.
	t.Cleanup(func() { _ = flag.CommandLine.Set("kubeconfig", "") })
	var out, errb bytes.Buffer
	code = run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

// TestHelp checks what an operator reads first: commands under headings,
// examples, flags under headings naming their environment variables, and
// no developer flags.
func TestHelp(t *testing.T) {
	for _, tc := range []struct {
		args    []string
		has     []string
		hasNot  []string
		inOrder []string
	}{
		{[]string{"--help"},
			[]string{"Examples:", "manager create-days --template", "completion bash", "[$PARQUETRAIL_MAX_CONCURRENT_DAYS]",
				"[$PARQUETRAIL_KUBECONFIG]", "--worker-resources json", "--secret-namespaces strings", "--zap-log-level level", "Exit codes:"},
			[]string{"print-config", "zap-devel", "func"},
			[]string{"Make CloudTrailDays:", "  create-day ", "  create-days ", "Check an installation:", "  self-check ",
				"Other commands:", "  completion ", "  help ", "  version ",
				"Kubernetes flags:", "--leader-elect", "--kubeconfig", "Worker flags:", "--worker-image", "--lease-ttl",
				"Day flags:", "--max-concurrent-days", "--secret-namespaces", "Endpoint flags:", "--metrics-bind-address",
				"Logging flags:", "--log-format", `(default "json")`, "--zap-log-level"}},
		{[]string{"create-day", "--help"},
			[]string{"yesterday", "PARQUETRAIL_DAY_TEMPLATE", "[$PARQUETRAIL_TEMPLATE]", "[$PARQUETRAIL_DAYS_AGO] (default 1)", `(default "text")`},
			[]string{"--leader-elect", "--zap-log-level"},
			[]string{"Examples:", "manager create-day --template", "Flags:", "--template", "--days-ago", "--namespace", "--dry-run", "Global Flags:", "--kubeconfig"}},
		{[]string{"help", "create-days"},
			[]string{"backfill", "--max-concurrent-days", "[$PARQUETRAIL_FROM]", "[$PARQUETRAIL_TO]"}, nil,
			[]string{"Examples:", "--from 2025-01-01 --to 2025-12-31", "--template", "--from", "--to"}},
		{[]string{"self-check", "-h"},
			[]string{"helm test", "--can access", "(repeatable) [$PARQUETRAIL_CAN]", `(default "cloudtraildays.parquetrail.io")`, "(default 2m0s)"}, nil,
			[]string{"Exit codes:", "Examples:", "--timeout", "--lease", "--can"}},
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

// TestUsageErrors: a mistyped command or flag, a bad value or a missing
// one gets a short message (with a suggestion where there is one) and exit
// code 2, before the manager starts or any request.
func TestUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		says []string
	}{
		{[]string{"create-dy"}, []string{`unknown command "create-dy"`, "Did you mean this?\n\tcreate-day\n\tcreate-days", "Run 'manager --help'"}},
		{[]string{"selfcheck"}, []string{"Did you mean this?\n\tself-check"}},
		{[]string{"--leader-elec"}, []string{"unknown flag: --leader-elec", "Did you mean this?\n\t--leader-elect\n", "Run 'manager --help' for its flags."}},
		{[]string{"--max-concurent-days", "3"}, []string{"Did you mean this?\n\t--max-concurrent-days"}},
		{[]string{"-leader-elect=true"}, []string{"Flags take two dashes: --leader-elect"}},
		{[]string{"create-days", "--frm", "2026-01-01"}, []string{"Did you mean this?\n\t--from", "Run 'manager create-days --help'"}},
		{[]string{"create-day", "extra"}, []string{`unexpected argument "extra" (create-day takes flags only)`}},
		{[]string{"--max-concurrent-days", "many"}, []string{`invalid argument "many" for "--max-concurrent-days"`}},
		{[]string{"--worker-resources", "{"}, []string{"--worker-resources"}},
		{[]string{"--worker-pod-defaults", `{"image":"x"}`}, []string{"takes only podAnnotations"}},
		{[]string{"--worker-pod-defaults", `{"podAnotations":{}}`}, []string{"unknown field"}},
		{[]string{"--log-format", "xml", "--print-config"}, []string{`--log-format "xml": want text or json`}},
		{[]string{"create-days", "--from", "2026-01-01"}, []string{"create-days needs --from DATE and --to DATE"}},
		{[]string{"create-days", "--from", "2026-01-02", "--to", "2026-01-01"}, []string{"--to 2026-01-01 is before --from 2026-01-02"}},
		{[]string{"create-day", "--days-ago", "-1"}, []string{"--days-ago of 0 or more"}},
		{[]string{"self-check", "--lease", "manager"}, []string{`--lease "manager": want NAMESPACE/NAME`}},
		{[]string{"self-check", "--can", "create:jobs.batch", "--can", "jobs"}, []string{`--can: access "jobs"`}},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			t.Setenv(TemplateEnv, "")
			code, out, errb := runCLI(t, tc.args...)
			if code != 2 {
				t.Errorf("exit %d, want 2; stderr:\n%s", code, errb)
			}
			if !strings.HasPrefix(errb, "manager: ") {
				t.Errorf("stderr does not start with the program's name:\n%s", errb)
			}
			for _, s := range tc.says {
				if !strings.Contains(errb, s) {
					t.Errorf("stderr does not say %q:\n%s", s, errb)
				}
			}
			if strings.Contains(errb, "--worker-service-account") || out != "" {
				t.Errorf("an error printed the flag list or to stdout:\nstdout: %s\nstderr: %s", out, errb)
			}
		})
	}
}

// TestJSONErrors: with --log-format json an error is one JSON record on
// stderr with its exit code, for a log pipeline.
func TestJSONErrors(t *testing.T) {
	code, _, errb := runCLI(t, "create-days", "--log-format", "json", "--from", "2026-01-02", "--to", "2026-01-01")
	var rec struct {
		Level    string `json:"level"`
		Msg      string `json:"msg"`
		ExitCode int    `json:"exitCode"`
	}
	if err := json.Unmarshal([]byte(errb), &rec); err != nil {
		t.Fatalf("stderr is not one JSON record: %v\n%s", err, errb)
	}
	want := struct {
		Level    string `json:"level"`
		Msg      string `json:"msg"`
		ExitCode int    `json:"exitCode"`
	}{"ERROR", "--to 2026-01-01 is before --from 2026-01-02", 2}
	if d := cmp.Diff(want, rec); d != "" || code != 2 {
		t.Errorf("exit %d; record (-want +got):\n%s", code, d)
	}
}

// printConfig runs the manager's command line up to the point where it
// would start, and returns the settings it would start with.
func printConfig(t *testing.T, args ...string) manager {
	t.Helper()
	code, out, errb := runCLI(t, append(args, "--print-config")...)
	if code != 0 {
		t.Fatalf("manager %q: exit %d: %s", args, code, errb)
	}
	var m manager
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		t.Fatalf("--print-config: %v\n%s", err, out)
	}
	return m
}

// ignoreFlags leaves out what --print-config does not print.
var ignoreFlags = cmpopts.IgnoreUnexported(manager{})

// defaults are the settings without flags: the flag defaults of the
// manager before its move to cobra.
func defaults() manager {
	return manager{MetricsBindAddress: ":8443", MetricsSecure: true, HealthProbeBindAddress: ":8081",
		MaxConcurrentReconciles: 4, Controller: func() controllers.Config {
			c := controllers.DefaultConfig()
			c.WorkerImage = "ghcr.io/parquetrail/shard-worker:latest"
			return c
		}()}
}

// TestEnvironment: every flag of the manager from PARQUETRAIL_<FLAG>; the
// command line wins over the variable, the variable over the default.
func TestEnvironment(t *testing.T) {
	if d := cmp.Diff(defaults(), printConfig(t), ignoreFlags); d != "" {
		t.Errorf("defaults (-want +got):\n%s", d)
	}
	t.Setenv("PARQUETRAIL_MAX_CONCURRENT_DAYS", "9")
	t.Setenv("PARQUETRAIL_LEADER_ELECT", "true")
	t.Setenv("PARQUETRAIL_SECRET_NAMESPACES", "security, audit")
	t.Setenv("PARQUETRAIL_PLAN_TIMEOUT", "3m")
	t.Setenv("PARQUETRAIL_WORKER_RESOURCES", `{"limits":{"memory":"1Gi"}}`)
	t.Setenv("PARQUETRAIL_METRICS_BIND_ADDRESS", ":9000")
	want := defaults()
	want.LeaderElect = true
	want.MetricsBindAddress = "0"
	want.Controller.MaxConcurrentDays = 9
	want.Controller.SecretNamespaces = []string{"security", "audit"}
	want.Controller.PlanTimeout = 3 * time.Minute
	want.Controller.WorkerResources = &corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("1Gi")}}
	if d := cmp.Diff(want, printConfig(t, "--metrics-bind-address=0"), ignoreFlags); d != "" {
		t.Errorf("from the environment (-want +got):\n%s", d)
	}
	// A bad value names its variable, and is a usage error.
	t.Setenv("PARQUETRAIL_MAX_SHARDS", "lots")
	code, _, errb := runCLI(t, "--print-config")
	if code != 2 || !strings.Contains(errb, `PARQUETRAIL_MAX_SHARDS="lots"`) {
		t.Errorf("exit %d, stderr %s", code, errb)
	}
}

// TestCreateDaysFromEnvironment: the subcommands read their flags from the
// environment too, and the template from $PARQUETRAIL_DAY_TEMPLATE.
func TestCreateDaysFromEnvironment(t *testing.T) {
	t.Setenv(TemplateEnv, backfillTemplate)
	t.Setenv("PARQUETRAIL_FROM", "2026-01-30")
	t.Setenv("PARQUETRAIL_TO", "2026-01-31")
	t.Setenv("PARQUETRAIL_DRY_RUN", "true")
	code, out, errb := runCLI(t, "create-days", "--to", "2026-02-01")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errb)
	}
	if got := strings.Count(out, "kind: CloudTrailDay"); got != 3 || !strings.Contains(out, "name: seed-2026-02-01") {
		t.Errorf("%d days, want 2026-01-30 to 2026-02-01:\n%s", got, out)
	}
}

func TestCompletion(t *testing.T) {
	for shell, marker := range map[string]string{"bash": "__start_manager", "zsh": "#compdef manager", "fish": "complete -c manager"} {
		code, out, errb := runCLI(t, "completion", shell)
		if code != 0 || !strings.Contains(out, marker) {
			t.Errorf("completion %s: exit %d, no %q in %d bytes; %s", shell, code, marker, len(out), errb)
		}
	}
	// What the shell asks for while the user types: commands, then flags.
	_, out, _ := runCLI(t, "__complete", "")
	for _, c := range []string{"create-day", "create-days", "self-check", "version"} {
		if !strings.Contains(out, c+"\t") {
			t.Errorf("completing a command does not offer %s:\n%s", c, out)
		}
	}
	_, out, _ = runCLI(t, "__complete", "--max-concurrent")
	for _, f := range []string{"--max-concurrent-days", "--max-concurrent-reconciles"} {
		if !strings.Contains(out, f) {
			t.Errorf("completing --max-concurrent does not offer %s:\n%s", f, out)
		}
	}
	_, out, _ = runCLI(t, "__complete", "create-days", "--")
	if !strings.Contains(out, "--from") || strings.Contains(out, "--leader-elect") {
		t.Errorf("completing create-days' flags:\n%s", out)
	}
}

func TestVersion(t *testing.T) {
	_, a, _ := runCLI(t, "--version")
	_, b, _ := runCLI(t, "version")
	if a != b || !strings.HasPrefix(a, "manager ") || strings.TrimSpace(a) == "manager" {
		t.Errorf("--version %q, version %q", a, b)
	}
	version = "v1.2.3"
	defer func() { version = "" }()
	if _, out, _ := runCLI(t, "--version"); out != "manager v1.2.3\n" {
		t.Errorf("with -ldflags: %q", out)
	}
	if got := printConfig(t).Controller.WorkerImage; got != "ghcr.io/parquetrail/shard-worker:v1.2.3" {
		t.Errorf("worker image of v1.2.3: %s", got)
	}
}
