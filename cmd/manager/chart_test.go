package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"

	"github.com/parquetrail/parquetrail/api/v1alpha1"
	"github.com/parquetrail/parquetrail/test/chart"
)

// TestChartCommands runs the command lines the Helm chart renders for the
// manager image (the Deployment's args, the daily CronJob's create-day, the
// helm test's self-check) and the kustomize config's args through this
// command line: every flag is accepted and sets what the values say.
func TestChartCommands(t *testing.T) {
	values := map[string]any{
		"manager": map[string]any{"maxConcurrentReconciles": 6, "maxConcurrentDays": 2, "planTimeout": "20m",
			"listConcurrency": 8, "maxShards": 900, "logLevel": "debug"},
		"worker": map[string]any{
			"image":             map[string]any{"tag": "v9.9.9"},
			"resources":         map[string]any{"limits": map[string]any{"memory": "1Gi"}},
			"podAnnotations":    map[string]any{"sidecar.istio.io/inject": "false"},
			"priorityClassName": "batch",
		},
		"rbac":    map[string]any{"secretNamespaces": []any{"security", "audit"}},
		"metrics": map[string]any{"secure": false, "port": 8080},
		"daily": map[string]any{"enabled": true, "daysAgo": 2, "day": map[string]any{
			"name": "seed", "namespace": "security",
			"spec": map[string]any{"timeZone": "Asia/Seoul", "source": map[string]any{"bucket": "trail"}, "destination": map[string]any{"bucket": "lake"}},
		}},
	}
	objs := chart.Render(t, "pt", "parquetrail", values)

	var dep struct {
		Spec struct {
			Template corev1.PodTemplateSpec `json:"template"`
		} `json:"spec"`
	}
	fromUnstructured(t, chart.Find(objs, "Deployment", "-manager"), &dep)
	args := dep.Spec.Template.Spec.Containers[0].Args
	want := defaults()
	want.LeaderElect, want.LeaderElectionNamespace = true, "parquetrail"
	want.MetricsBindAddress, want.MetricsSecure = ":8080", false
	want.MaxConcurrentReconciles = 6
	c := &want.Controller
	c.WorkerImage = "ghcr.io/parquetrail/shard-worker:v9.9.9"
	c.WorkerServiceAccount = "pt-parquetrail-worker"
	c.WorkerResources = &corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("1Gi")}}
	c.WorkerPod = v1alpha1.Workers{PodAnnotations: map[string]string{"sidecar.istio.io/inject": "false"}, PriorityClassName: "batch"}
	c.MaxConcurrentDays, c.SecretNamespaces, c.PlanTimeout, c.ListConcurrency, c.MaxShards = 2, []string{"security", "audit"}, 20*time.Minute, 8, 900
	if d := cmp.Diff(want, printConfig(t, args...), ignoreFlags); d != "" {
		t.Errorf("the chart's manager args %q (-want +got):\n%s", args, d)
	}

	// The CronJob's create-day, with the template the chart puts in its
	// environment.
	var cron batchv1.CronJob
	fromUnstructured(t, chart.Find(objs, "CronJob", "-daily"), &cron)
	ctr := cron.Spec.JobTemplate.Spec.Template.Spec.Containers[0]
	var cm corev1.ConfigMap
	fromUnstructured(t, chart.Find(objs, "ConfigMap", "-day-template"), &cm)
	if ctr.Command[0] != "/manager" || len(ctr.Env) == 0 || ctr.Env[0].Name != TemplateEnv {
		t.Fatalf("create-day container %q, env %v", ctr.Command, ctr.Env)
	}
	t.Setenv(TemplateEnv, cm.Data["day.yaml"])
	code, out, errb := runCLI(t, append(ctr.Command[1:], "--dry-run")...)
	var day v1alpha1.CloudTrailDay
	if err := yaml.UnmarshalStrict([]byte(out), &day); code != 0 || err != nil {
		t.Fatalf("%q: exit %d, %v: %s%s", ctr.Command, code, err, out, errb)
	}
	wantDate := time.Now().In(must(time.LoadLocation("Asia/Seoul"))).AddDate(0, 0, -2).Format(time.DateOnly)
	if day.Namespace != "security" || day.Spec.Date != wantDate || day.Name != "seed-"+wantDate {
		t.Errorf("%q made %s/%s for %s; want security/seed-%s", ctr.Command, day.Namespace, day.Name, day.Spec.Date, wantDate)
	}

	// The helm test's self-check: every flag accepted (exit 1, not 2) and
	// every check tried, against an API server that is not there.
	var pod corev1.Pod
	fromUnstructured(t, chart.Find(objs, "Pod", "-self-check"), &pod)
	cmdline := pod.Spec.Containers[0].Command
	code, out, errb = runCLI(t, append(cmdline[1:], "--timeout=1ms", "--kubeconfig="+deadKubeconfig(t))...)
	if code != 1 || !strings.Contains(out, "FAIL rbac: can-i get secrets in namespace audit") || !strings.Contains(out, "FAIL manager: lease parquetrail/manager.parquetrail.io") {
		t.Errorf("%q: exit %d, want 1:\n%s%s", cmdline, code, out, errb)
	}

	// config/manager's args (kustomize), with $(POD_NAMESPACE) as the
	// kubelet expands it.
	var kust struct {
		Spec struct {
			Template corev1.PodTemplateSpec `json:"template"`
		} `json:"spec"`
	}
	b, err := os.ReadFile(filepath.Join("..", "..", "config", "manager", "manager.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, doc := range strings.Split(string(b), "\n---\n") {
		if strings.Contains(doc, "kind: Deployment") {
			if err := yaml.Unmarshal([]byte(doc), &kust); err != nil {
				t.Fatal(err)
			}
		}
	}
	var kargs []string
	for _, a := range kust.Spec.Template.Spec.Containers[0].Args {
		kargs = append(kargs, strings.ReplaceAll(a, "$(POD_NAMESPACE)", "parquetrail-system"))
	}
	want = defaults()
	want.LeaderElect = true
	want.Controller.MaxConcurrentDays, want.Controller.SecretNamespaces = 4, []string{"parquetrail-system"}
	if d := cmp.Diff(want, printConfig(t, kargs...), ignoreFlags); d != "" {
		t.Errorf("config/manager's args %q (-want +got):\n%s", kargs, d)
	}
}

// deadKubeconfig is a kubeconfig of an API server on a loopback port that
// nothing listens on.
func deadKubeconfig(t *testing.T) string {
	f := filepath.Join(t.TempDir(), "kubeconfig")
	cfg := `apiVersion: v1
kind: Config
clusters: [{name: dead, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {token: x}}]
contexts: [{name: dead, context: {cluster: dead, user: u}}]
current-context: dead
`
	if err := os.WriteFile(f, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

func fromUnstructured(t *testing.T, u *unstructured.Unstructured, into any) {
	t.Helper()
	if u == nil {
		t.Fatal("object not rendered")
	}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, into); err != nil {
		t.Fatal(err)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
