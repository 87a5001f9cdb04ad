package chart

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"

	"github.com/parquetrail/parquetrail/api/v1alpha1"
)

// dailyValues turn on every optional part of the chart.
func dailyValues() map[string]any {
	return map[string]any{
		"worker": map[string]any{
			"serviceAccount": map[string]any{"annotations": map[string]any{
				"eks.amazonaws.com/role-arn": "arn:aws:iam::111122223333:role/parquetrail-worker"}},
			"parallelism": 8,
			"resources":   map[string]any{"requests": map[string]any{"cpu": "2", "memory": "512Mi"}},
		},
		"rbac":    map[string]any{"secretNamespaces": []any{"security", "other"}},
		"metrics": map[string]any{"serviceMonitor": map[string]any{"enabled": true, "labels": map[string]any{"release": "prom"}}},
		"daily": map[string]any{
			"enabled": true,
			"day": map[string]any{
				"name":      "seed",
				"namespace": "security",
				"labels":    map[string]any{"team": "sec"},
				"spec": map[string]any{
					"timeZone":        "Asia/Seoul",
					"source":          map[string]any{"bucket": "example-org-cloudtrail", "region": "ap-northeast-2"},
					"destination":     map[string]any{"bucket": "example-security-lake", "prefix": "cloudtrail_parquet", "region": "ap-northeast-2"},
					"columns":         "seed",
					"localTimeColumn": "eventtime_kst",
					"lateArrival":     "2h",
				},
			},
		},
	}
}

func TestLint(t *testing.T) {
	helm := Helm(t)
	for name, values := range map[string]map[string]any{"defaults": nil, "daily": dailyValues()} {
		t.Run(name, func(t *testing.T) {
			args := []string{"lint", "--strict", Dir(), "--namespace", "parquetrail-system"}
			if values != nil {
				args = append(args, "--values", ValuesFile(t, values))
			}
			out, err := Run(helm, args...)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(out, "1 chart(s) linted, 0 chart(s) failed") {
				t.Errorf("helm lint:\n%s", out)
			}
		})
	}
}

func kinds(objs []*unstructured.Unstructured) []string {
	var out []string
	for _, o := range objs {
		out = append(out, o.GetKind()+"/"+o.GetName())
	}
	sort.Strings(out)
	return out
}

func TestTemplateDefaults(t *testing.T) {
	objs := Render(t, "pt", "parquetrail-system", nil)
	want := []string{
		"ClusterRole/pt-parquetrail-cloudtrailday-editor",
		"ClusterRole/pt-parquetrail-cloudtrailday-viewer",
		"ClusterRole/pt-parquetrail-manager",
		"ClusterRole/pt-parquetrail-metrics-auth",
		"ClusterRole/pt-parquetrail-metrics-reader",
		"ClusterRoleBinding/pt-parquetrail-manager",
		"ClusterRoleBinding/pt-parquetrail-metrics-auth",
		"CustomResourceDefinition/cloudtraildays.parquetrail.io",
		"Deployment/pt-parquetrail-manager",
		"Pod/pt-parquetrail-self-check",
		"Role/pt-parquetrail-leader-election",
		"Role/pt-parquetrail-secret-reader",
		"RoleBinding/pt-parquetrail-leader-election",
		"RoleBinding/pt-parquetrail-secret-reader",
		"Service/pt-parquetrail-metrics",
		"ServiceAccount/pt-parquetrail-manager",
		"ServiceAccount/pt-parquetrail-worker",
	}
	if diff := cmp.Diff(want, kinds(objs)); diff != "" {
		t.Errorf("objects (-want +got):\n%s", diff)
	}
	d := Find(objs, "Deployment", "-manager")
	var dep struct {
		Spec struct {
			Template corev1.PodTemplateSpec `json:"template"`
		} `json:"spec"`
	}
	fromUnstructured(t, d, &dep)
	c := dep.Spec.Template.Spec.Containers[0]
	for _, arg := range []string{
		"--leader-elect=true", "--leader-election-namespace=parquetrail-system",
		"--metrics-bind-address=:8443", "--metrics-secure=true", "--health-probe-bind-address=:8081",
		"--worker-image=ghcr.io/parquetrail/shard-worker:0.1.0",
	} {
		if !contains(c.Args, arg) {
			t.Errorf("manager args %q lack %s", c.Args, arg)
		}
	}
	if c.Image != "ghcr.io/parquetrail/manager:0.1.0" || !cmp.Equal(c.Command, []string{"/manager"}) {
		t.Errorf("manager image %s, command %q", c.Image, c.Command)
	}
	if dep.Spec.Template.Spec.ServiceAccountName != "pt-parquetrail-manager" {
		t.Errorf("manager service account %q", dep.Spec.Template.Spec.ServiceAccountName)
	}
	restricted(t, "manager", &dep.Spec.Template.Spec)

	w := Find(objs, "ServiceAccount", "-worker")
	if auto, _, _ := unstructured.NestedBool(w.Object, "automountServiceAccountToken"); auto {
		t.Error("the worker service account mounts its API token")
	}
	for _, o := range objs {
		namespaced := !strings.HasPrefix(o.GetKind(), "Cluster") && o.GetKind() != "CustomResourceDefinition"
		if namespaced && o.GetNamespace() != "parquetrail-system" {
			t.Errorf("%s/%s in namespace %q", o.GetKind(), o.GetName(), o.GetNamespace())
		}
		if o.GetLabels()["app.kubernetes.io/managed-by"] != "Helm" || o.GetLabels()["app.kubernetes.io/instance"] != "pt" {
			t.Errorf("%s/%s labels %v", o.GetKind(), o.GetName(), o.GetLabels())
		}
	}
}

func TestTemplateDaily(t *testing.T) {
	objs := Render(t, "pt", "parquetrail-system", dailyValues())
	cj := Find(objs, "CronJob", "-daily")
	if cj == nil {
		t.Fatalf("no CronJob in %v", kinds(objs))
	}
	var cron batchv1.CronJob
	fromUnstructured(t, cj, &cron)
	s := cron.Spec
	if s.Schedule != "15 0 * * *" || s.TimeZone == nil || *s.TimeZone != "Asia/Seoul" ||
		s.ConcurrencyPolicy != batchv1.ForbidConcurrent || *s.SuccessfulJobsHistoryLimit != 3 || *s.FailedJobsHistoryLimit != 3 {
		t.Errorf("CronJob spec %+v", s)
	}
	pod := &s.JobTemplate.Spec.Template.Spec
	restricted(t, "create-day", pod)
	want := []string{"/manager", "create-day", "--days-ago=1", "--namespace=security"}
	if diff := cmp.Diff(want, pod.Containers[0].Command); diff != "" {
		t.Errorf("create-day command (-want +got):\n%s", diff)
	}
	if pod.ServiceAccountName != "pt-parquetrail-day-creator" {
		t.Errorf("create-day runs as %q", pod.ServiceAccountName)
	}
	if env := pod.Containers[0].Env; len(env) != 1 || env[0].Name != "PARQUETRAIL_DAY_TEMPLATE" ||
		env[0].ValueFrom.ConfigMapKeyRef.Name != "pt-parquetrail-day-template" || env[0].ValueFrom.ConfigMapKeyRef.Key != "day.yaml" {
		t.Errorf("create-day env %+v", env)
	}

	// The template is a CloudTrailDay without a date, with the worker
	// defaults filled in, in the days' namespace.
	cm := Find(objs, "ConfigMap", "-day-template")
	text, _, _ := unstructured.NestedString(cm.Object, "data", "day.yaml")
	var day v1alpha1.CloudTrailDay
	if err := yaml.UnmarshalStrict([]byte(text), &day); err != nil {
		t.Fatalf("day template: %v\n%s", err, text)
	}
	if day.Name != "seed" || day.Namespace != "security" || day.Spec.Date != "" || day.Labels["team"] != "sec" ||
		day.Spec.Workers.ServiceAccountName != "pt-parquetrail-worker" || *day.Spec.Workers.Parallelism != 8 ||
		day.Spec.Workers.Resources.Requests.Memory().String() != "512Mi" || day.Spec.Columns != "seed" {
		t.Errorf("day template:\n%s", text)
	}
	// The worker account lives where the days do; the creator may create
	// days there and nothing else.
	if sa := Find(objs, "ServiceAccount", "-worker"); sa.GetNamespace() != "security" ||
		sa.GetAnnotations()["eks.amazonaws.com/role-arn"] == "" {
		t.Errorf("worker service account %s/%s %v", sa.GetNamespace(), sa.GetName(), sa.GetAnnotations())
	}
	role := Find(objs, "Role", "-day-creator")
	var r rbacv1.Role
	fromUnstructured(t, role, &r)
	if r.Namespace != "security" || len(r.Rules) != 1 || !cmp.Equal(r.Rules[0].Verbs, []string{"create"}) ||
		!cmp.Equal(r.Rules[0].Resources, []string{"cloudtraildays"}) {
		t.Errorf("day creator role %+v", r)
	}
	// Secrets are readable only in the named namespaces.
	var bindings []string
	for _, o := range objs {
		if strings.HasSuffix(o.GetName(), "-secret-reader") && strings.HasSuffix(o.GetKind(), "Binding") {
			bindings = append(bindings, o.GetKind()+"/"+o.GetNamespace())
		}
	}
	sort.Strings(bindings)
	if diff := cmp.Diff([]string{"RoleBinding/other", "RoleBinding/security"}, bindings); diff != "" {
		t.Errorf("secret reader bindings (-want +got):\n%s", diff)
	}
	sm := Find(objs, "ServiceMonitor", "-manager")
	if sm == nil || sm.GetLabels()["release"] != "prom" {
		t.Fatalf("ServiceMonitor %v", sm)
	}
	port, _, _ := unstructured.NestedSlice(sm.Object, "spec", "endpoints")
	if len(port) != 1 || port[0].(map[string]any)["port"] != "https" || port[0].(map[string]any)["scheme"] != "https" {
		t.Errorf("ServiceMonitor endpoints %v", port)
	}
}

// restricted checks a pod against the Pod Security Standards' restricted
// profile, as far as the chart sets it.
func restricted(t *testing.T, what string, p *corev1.PodSpec) {
	t.Helper()
	sc := p.SecurityContext
	if sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot || sc.SeccompProfile == nil || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("%s: pod security context %+v", what, sc)
	}
	for _, c := range p.Containers {
		s := c.SecurityContext
		if s == nil || s.AllowPrivilegeEscalation == nil || *s.AllowPrivilegeEscalation || s.ReadOnlyRootFilesystem == nil ||
			!*s.ReadOnlyRootFilesystem || s.Capabilities == nil || !cmp.Equal(s.Capabilities.Drop, []corev1.Capability{"ALL"}) {
			t.Errorf("%s: container %s security context %+v", what, c.Name, s)
		}
		if c.Resources.Requests.Memory().IsZero() || c.Resources.Limits.Memory().IsZero() {
			t.Errorf("%s: container %s has no memory request and limit", what, c.Name)
		}
	}
}

func TestSchemaRefuses(t *testing.T) {
	helm := Helm(t)
	cases := map[string]map[string]any{
		"unknown top-level key":    {"manger": map[string]any{}},
		"daily without stores":     {"daily": map[string]any{"enabled": true}},
		"date in the day template": {"daily": map[string]any{"day": map[string]any{"spec": map[string]any{"date": "2026-11-24"}}}},
		"Local zone":               {"daily": map[string]any{"timeZone": "Local"}},
		"zone in the schedule":     {"daily": map[string]any{"schedule": "CRON_TZ=Asia/Seoul 15 0 * * *"}},
		"privilege escalation":     {"manager": map[string]any{"securityContext": map[string]any{"allowPrivilegeEscalation": true, "capabilities": map[string]any{"drop": []any{"ALL"}}}}},
		"root":                     {"manager": map[string]any{"podSecurityContext": map[string]any{"runAsNonRoot": false}}},
		"bad pull policy":          {"manager": map[string]any{"image": map[string]any{"pullPolicy": "Sometimes"}}},
		"zero parallelism":         {"worker": map[string]any{"parallelism": 0}},
		"bad log level":            {"manager": map[string]any{"logLevel": "loud"}},
		"bad digest":               {"worker": map[string]any{"image": map[string]any{"digest": "latest"}}},
	}
	for name, values := range cases {
		t.Run(name, func(t *testing.T) {
			out, err := Template(helm, "pt", "parquetrail-system", values)
			if err == nil {
				t.Fatalf("accepted; rendered:\n%.400s", out)
			}
			if !strings.Contains(err.Error(), "values don't meet the specifications of the schema") &&
				!strings.Contains(err.Error(), "daily.enabled needs") {
				t.Errorf("refused for another reason: %v", err)
			}
		})
	}
}

// The chart ships the CRD that controller-gen generates.
func TestCRDsAreTheGeneratedOnes(t *testing.T) {
	gen, _ := filepath.Glob(filepath.Join(Root(), "config", "crd", "bases", "*.yaml"))
	shipped, _ := filepath.Glob(filepath.Join(Dir(), "files", "crds", "*.yaml"))
	base := func(paths []string) []string {
		var out []string
		for _, p := range paths {
			out = append(out, filepath.Base(p))
		}
		return out
	}
	if diff := cmp.Diff(base(gen), base(shipped)); len(gen) == 0 || diff != "" {
		t.Fatalf("charts/parquetrail/files/crds differs from config/crd/bases (-generated +chart):\n%s", diff)
	}
	for _, p := range gen {
		a, _ := os.ReadFile(p)
		b, _ := os.ReadFile(filepath.Join(Dir(), "files", "crds", filepath.Base(p)))
		if string(a) != string(b) {
			t.Errorf("charts/parquetrail/files/crds/%s is stale: make generate copies it", filepath.Base(p))
		}
	}
}

// The manager's rules in the chart are the ones generated from the
// controller's RBAC markers (config/rbac/role.yaml): no more, no fewer.
func TestManagerRulesAreTheGeneratedOnes(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(Root(), "config", "rbac", "role.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var generated rbacv1.ClusterRole
	if err := yaml.Unmarshal(b, &generated); err != nil {
		t.Fatal(err)
	}
	objs := Render(t, "pt", "parquetrail-system", nil)
	var r rbacv1.ClusterRole
	fromUnstructured(t, Find(objs, "ClusterRole", "-manager"), &r)
	if diff := cmp.Diff(flatten(generated.Rules), flatten(r.Rules)); diff != "" {
		t.Errorf("the chart's manager rules differ from config/rbac/role.yaml (-generated +chart):\n%s", diff)
	}
	// Secrets: get, in the release's namespace only by default, through a
	// Role the manager's --secret-namespaces matches.
	var secrets rbacv1.Role
	fromUnstructured(t, Find(objs, "Role", "-secret-reader"), &secrets)
	if diff := cmp.Diff([]string{"/secrets get"}, flatten(secrets.Rules)); diff != "" || secrets.Namespace != "parquetrail-system" {
		t.Errorf("secret reader Role in %q (-want +got):\n%s", secrets.Namespace, diff)
	}
	args, _, _ := unstructured.NestedSlice(Find(objs, "Deployment", "-manager").Object, "spec", "template", "spec", "containers")
	if got := fmt.Sprint(args[0].(map[string]any)["args"]); !strings.Contains(got, "--secret-namespaces=parquetrail-system ") ||
		!strings.Contains(got, "--max-concurrent-days=4 ") {
		t.Errorf("manager args %s", got)
	}
}

// flatten turns rules into sorted "group/resource verb" lines.
func flatten(rules []rbacv1.PolicyRule) []string {
	var out []string
	for _, r := range rules {
		for _, g := range r.APIGroups {
			for _, res := range r.Resources {
				for _, v := range r.Verbs {
					out = append(out, g+"/"+res+" "+v)
				}
			}
		}
	}
	sort.Strings(out)
	return out
}

// The GitOps examples in docs/gitops render with their values.
func TestGitOpsExamples(t *testing.T) {
	helm := Helm(t)
	read := func(name, kind string) map[string]any {
		b, err := os.ReadFile(filepath.Join(Root(), "docs", "gitops", name))
		if err != nil {
			t.Fatal(err)
		}
		objs, err := Objects(string(b))
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range objs {
			if o.GetKind() == kind {
				return o.Object
			}
		}
		t.Fatalf("%s has no %s", name, kind)
		return nil
	}
	app := read("argocd-application.yaml", "Application")
	argo, _, _ := unstructured.NestedMap(app, "spec", "source", "helm", "valuesObject")
	path, _, _ := unstructured.NestedString(app, "spec", "source", "path")
	ns, _, _ := unstructured.NestedString(app, "spec", "destination", "namespace")
	if path != "charts/parquetrail" || ns == "" || len(argo) == 0 {
		t.Errorf("Argo CD Application: path %q, namespace %q, values %v", path, ns, argo)
	}
	hr := read("flux-helmrelease.yaml", "HelmRelease")
	flux, _, _ := unstructured.NestedMap(hr, "spec", "values")
	chartPath, _, _ := unstructured.NestedString(hr, "spec", "chart", "spec", "chart")
	if chartPath != "./charts/parquetrail" || len(flux) == 0 {
		t.Errorf("Flux HelmRelease: chart %q, values %v", chartPath, flux)
	}
	for name, values := range map[string]map[string]any{"argocd": argo, "flux": flux} {
		out, err := Template(helm, "parquetrail", ns, values)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		objs, _ := Objects(out)
		if Find(objs, "CronJob", "-daily") == nil {
			t.Errorf("%s: the example renders no CronJob", name)
		}
	}
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

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
