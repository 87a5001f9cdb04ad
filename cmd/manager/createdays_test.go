package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/yaml"

	"github.com/parquetrail/parquetrail/api/v1alpha1"
)

const backfillTemplate = `
apiVersion: parquetrail.io/v1alpha1
kind: CloudTrailDay
metadata:
  name: seed
  namespace: security
spec:
  timeZone: Asia/Seoul
  source: {bucket: trail}
  destination: {bucket: lake}
`

func TestDateRange(t *testing.T) {
	cases := []struct {
		from, to string
		want     []string
		wantErr  string
	}{
		{"2026-02-27", "2026-03-01", []string{"2026-02-27", "2026-02-28", "2026-03-01"}, ""},
		{"2024-02-28", "2024-03-01", []string{"2024-02-28", "2024-02-29", "2024-03-01"}, ""},
		{"2026-03-07", "2026-03-09", []string{"2026-03-07", "2026-03-08", "2026-03-09"}, ""}, // a DST change in the US
		{"2026-11-24", "2026-11-24", []string{"2026-11-24"}, ""},
		{"2025-12-31", "2026-01-01", []string{"2025-12-31", "2026-01-01"}, ""},
		{"", "2026-01-01", nil, "needs --from DATE and --to DATE"},
		{"2026-1-1", "2026-01-02", nil, `--from "2026-1-1" is not a date`},
		{"2026-01-01", "2026-02-30", nil, `--to "2026-02-30" is not a date`},
		{"2026-01-02", "2026-01-01", nil, "--to 2026-01-01 is before --from 2026-01-02"},
		{"2000-01-01", "2026-01-01", nil, "at most 3660 at once"},
	}
	for _, c := range cases {
		got, err := dateRange(c.from, c.to)
		if c.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("dateRange(%q, %q) = %v, want an error with %q", c.from, c.to, err, c.wantErr)
			}
			continue
		}
		if diff := cmp.Diff(c.want, got); err != nil || diff != "" {
			t.Errorf("dateRange(%q, %q): %v (-want +got):\n%s", c.from, c.to, err, diff)
		}
	}
	if got, _ := dateRange("2025-01-01", "2025-12-31"); len(got) != 365 {
		t.Errorf("a year is %d days", len(got))
	}
}

func TestCreateDaysDryRun(t *testing.T) {
	file := filepath.Join(t.TempDir(), "day.yaml")
	if err := os.WriteFile(file, []byte(backfillTemplate), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv(TemplateEnv, "")
	code, out, errb := runCLI(t, "create-days", "--template", file, "--from", "2026-01-30", "--to", "2026-02-02", "--namespace", "backfill", "--dry-run")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errb)
	}
	var got []string
	for _, doc := range strings.Split(out, "---\n")[1:] {
		var d v1alpha1.CloudTrailDay
		if err := yaml.UnmarshalStrict([]byte(doc), &d); err != nil {
			t.Fatal(err)
		}
		if d.Spec.TimeZone != "Asia/Seoul" || d.Labels[TemplateLabel] != "seed" || d.Spec.Source.Bucket != "trail" {
			t.Errorf("day = %+v", d)
		}
		got = append(got, d.Namespace+"/"+d.Name+" "+d.Spec.Date)
	}
	want := []string{"backfill/seed-2026-01-30 2026-01-30", "backfill/seed-2026-01-31 2026-01-31",
		"backfill/seed-2026-02-01 2026-02-01", "backfill/seed-2026-02-02 2026-02-02"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("days (-want +got):\n%s", diff)
	}

	// Wrong flags and a missing template are usage errors (exit code 2).
	for _, args := range [][]string{
		{"--template", file, "--from", "2026-01-30"},
		{"--template", file, "--from", "2026-01-30", "--to", "2026-01-01"},
		{"--template", filepath.Join(t.TempDir(), "missing.yaml"), "--from", "2026-01-30", "--to", "2026-01-31"},
		{"--from", "2026-01-30", "--to", "2026-01-31"},
		{"--nope"},
	} {
		if code, _, errb := runCLI(t, append([]string{"create-days"}, args...)...); code != 2 {
			t.Errorf("create-days %q: exit %d, want 2: %s", args, code, errb)
		}
	}
}

// TestCreateDays creates a range against a real API server, then again
// over a longer range: the days that exist are left alone.
func TestCreateDays(t *testing.T) {
	c, kubeconfig := apiServerWithKubeconfig(t)
	ctx := context.Background()
	tmpl, err := parseTemplate([]byte(backfillTemplate))
	if err != nil {
		t.Fatal(err)
	}
	tmpl.Namespace = "default"
	days := func(from, to string) []*v1alpha1.CloudTrailDay {
		dates, err := dateRange(from, to)
		if err != nil {
			t.Fatal(err)
		}
		var out []*v1alpha1.CloudTrailDay
		for _, d := range dates {
			out = append(out, dayOf(tmpl, d))
		}
		return out
	}
	var out bytes.Buffer
	if err := createAll(ctx, c, days("2026-01-01", "2026-01-10"), &out); err != nil {
		t.Fatal(err)
	}
	first := days("2026-01-01", "2026-01-01")[0]
	stored := &v1alpha1.CloudTrailDay{}
	if err := c.Get(ctx, client.ObjectKeyFromObject(first), stored); err != nil {
		t.Fatal(err)
	}
	stored.Annotations = map[string]string{"kept": "yes"}
	if err := c.Update(ctx, stored); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := createAll(ctx, c, days("2025-12-30", "2026-01-12"), &out); err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(out.String(), "14 days from 2025-12-30 to 2026-01-12: 4 created, 10 already there\n") {
		t.Errorf("second run printed:\n%s", out.String())
	}
	var l v1alpha1.CloudTrailDayList
	if err := c.List(ctx, &l, client.InNamespace("default")); err != nil {
		t.Fatal(err)
	}
	if len(l.Items) != 14 {
		t.Errorf("%d days", len(l.Items))
	}
	if err := c.Get(ctx, client.ObjectKeyFromObject(first), stored); err != nil || stored.Annotations["kept"] != "yes" {
		t.Errorf("an existing day was changed: %v %v", stored.Annotations, err)

		// The command line, as the CronJob and a backfill run it: the template
		// from the environment, the API server from --kubeconfig (or its
		// variable); a second run of create-day is harmless.
		t.Setenv(TemplateEnv, backfillTemplate)
		t.Setenv("PARQUETRAIL_KUBECONFIG", kubeconfig)
		for i, want := range []string{"created for ", "already exists; nothing to do"} {
			code, out, errb := runCLI(t, "create-day", "--namespace", "default", "--days-ago", "400")
			if code != 0 || !strings.Contains(out, want) {
				t.Errorf("create-day, run %d: exit %d, want %q: %s%s", i+1, code, want, out, errb)
			}
		}
		code, out, errb := runCLI(t, "create-days", "--namespace", "default", "--from", "2026-01-11", "--to", "2026-01-13")
		if code != 0 || !strings.HasSuffix(out, "3 days from 2026-01-11 to 2026-01-13: 1 created, 2 already there\n") {
			t.Errorf("create-days: exit %d: %s%s", code, out, errb)
		}
		if err := c.List(ctx, &l, client.InNamespace("default")); err != nil || len(l.Items) != 16 {
			t.Errorf("%d days after the command line's, want 16: %v", len(l.Items), err)
		}
		// A namespace that does not exist: a failure a retry may fix (1).
		if code, _, errb := runCLI(t, "create-day", "--namespace", "nowhere"); code != 1 || !strings.Contains(errb, "cloudtrailday nowhere/seed-") {
			t.Errorf("create-day in a missing namespace: exit %d: %s", code, errb)
		}
	}
}

// apiServer starts a kube-apiserver and etcd with the CRD (the control plane
// of hack/controlplane.sh) and returns a client of it.
func apiServer(t *testing.T) client.Client {
	c, _ := apiServerWithKubeconfig(t)
	return c
}

// apiServerWithKubeconfig is apiServer, with a kubeconfig file of an
// administrator for the command line's --kubeconfig.
func apiServerWithKubeconfig(t *testing.T) (client.Client, string) {
	t.Helper()
	assets := os.Getenv("KUBEBUILDER_ASSETS")
	if assets == "" {
		script := filepath.Join("..", "..", "hack", "controlplane.sh")
		if exec.Command(script, "--check").Run() == nil {
			out, err := exec.Command(script, "--print-dir").Output()
			if err != nil {
				t.Fatal(err)
			}
			assets = strings.TrimSpace(string(out))
		}
	}
	if assets == "" {
		if os.Getenv("PARQUETRAIL_REQUIRE_ALL") != "" {
			t.Fatal("no control plane: set KUBEBUILDER_ASSETS=$(hack/controlplane.sh)")
		}
		t.Skip("no control plane: set KUBEBUILDER_ASSETS=$(hack/controlplane.sh)")
	}
	env := &envtest.Environment{
		CRDDirectoryPaths:     []string{filepath.Join("..", "..", "config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
		BinaryAssetsDirectory: assets,
	}
	cfg, err := env.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Stop() })
	scheme := runtime.NewScheme()
	if err := v1alpha1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	admin, err := env.AddUser(envtest.User{Name: "admin", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	kc, err := admin.KubeConfig()
	if err != nil {
		t.Fatal(err)
	}
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(kubeconfig, kc, 0o600); err != nil {
		t.Fatal(err)
	}
	return c, kubeconfig
}
