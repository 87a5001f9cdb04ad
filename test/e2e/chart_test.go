package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	batchv1 "k8s.io/api/batch/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/parquetrail/parquetrail/api/v1alpha1"
	"github.com/parquetrail/parquetrail/test/chart"
)

// newNamespace makes a namespace that enforces the restricted pod security
// profile, as the chart's docs ask.
func newNamespace(t *testing.T, ctx context.Context, prefix string) string {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: prefix,
		Labels: map[string]string{"pod-security.kubernetes.io/enforce": "restricted"}}}
	if err := k8s.Create(ctx, ns); err != nil {
		t.Fatal(err)
	}
	return ns.Name
}

// helmInstall installs the chart with the real helm CLI, as a user would,
// and uninstalls it when the test ends. It returns helm's output (with the
// notes).
func helmInstall(t *testing.T, release, ns string, values map[string]any) string {
	t.Helper()
	helm := chart.Helm(t)
	kc, err := admin()
	if err != nil {
		t.Fatal(err)
	}
	// The suite installed the CRD and several releases share it: a release
	// renders it only when the test says so.
	if _, ok := values["crds"]; !ok {
		values = withValue(values, "crds", map[string]any{"install": false})
	}
	out, err := chart.Run(helm, "install", release, chart.Dir(), "--namespace", ns, "--kubeconfig", kc,
		"--values", chart.ValuesFile(t, values))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := chart.Run(helm, "uninstall", release, "--namespace", ns, "--kubeconfig", kc); err != nil {
			t.Errorf("helm uninstall: %v", err)
		}
	})
	return out
}

// withValue is a copy of values with key set.
func withValue(values map[string]any, key string, v any) map[string]any {
	out := map[string]any{key: v}
	for k, x := range values {
		if k != key {
			out[k] = x
		}
	}
	return out
}

// serviceMonitorCRD stands in for the Prometheus Operator's CRD, so that
// the chart's ServiceMonitor can be applied.
func serviceMonitorCRD(t *testing.T, ctx context.Context) {
	t.Helper()
	crd := &unstructured.Unstructured{}
	if err := yaml.Unmarshal([]byte(`
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: servicemonitors.monitoring.coreos.com
spec:
  group: monitoring.coreos.com
  scope: Namespaced
  names: {plural: servicemonitors, singular: servicemonitor, kind: ServiceMonitor, listKind: ServiceMonitorList}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}
`), &crd.Object); err != nil {
		t.Fatal(err)
	}
	if err := k8s.Create(ctx, crd); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	eventually(t, time.Minute, "the ServiceMonitor CRD is established", func() error {
		if err := k8s.Get(ctx, client.ObjectKeyFromObject(crd), crd); err != nil {
			return err
		}
		conds, _, _ := unstructured.NestedSlice(crd.Object, "status", "conditions")
		for _, c := range conds {
			if m := c.(map[string]any); m["type"] == "Established" && m["status"] == "True" {
				return nil
			}
		}
		return fmt.Errorf("conditions %v", conds)
	})
}

// eventually polls cond until it returns nil, or fails the test.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var err error
	for time.Now().Before(deadline) {
		if err = cond(); err == nil {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("%s: not after %s: %v", what, timeout, err)
}

// access asks the API server whether a service account may do something.
type access struct {
	verb, group, resource, subresource, namespace string
}

func (a access) String() string {
	r := a.resource
	if a.group != "" {
		r = a.group + "/" + r
	}
	if a.subresource != "" {
		r += "/" + a.subresource
	}
	ns := a.namespace
	if ns == "" {
		ns = "(all namespaces)"
	}
	return fmt.Sprintf("%s %s in %s", a.verb, r, ns)
}

func allowed(t *testing.T, ctx context.Context, saNamespace, sa string, a access) bool {
	t.Helper()
	sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
		User: "system:serviceaccount:" + saNamespace + ":" + sa,
		// The groups a service account's token carries.
		Groups: []string{"system:serviceaccounts", "system:serviceaccounts:" + saNamespace, "system:authenticated"},
		ResourceAttributes: &authorizationv1.ResourceAttributes{Verb: a.verb, Group: a.group, Resource: a.resource,
			Subresource: a.subresource, Namespace: a.namespace},
	}}
	if err := k8s.Create(ctx, sar); err != nil {
		t.Fatal(err)
	}
	return sar.Status.Allowed
}

func checkAccess(t *testing.T, ctx context.Context, ns, sa string, may, mayNot []access) {
	t.Helper()
	for _, a := range may {
		if !allowed(t, ctx, ns, sa, a) {
			t.Errorf("%s may not %s; it needs to", sa, a)
		}
	}
	for _, a := range mayNot {
		if allowed(t, ctx, ns, sa, a) {
			t.Errorf("%s may %s; it must not", sa, a)
		}
	}
}

// TestChartInstall installs the chart with every optional part on, checks
// that each object it renders is on the API server, and that the RBAC it
// grants is what the manager, the workers and the day creator need, and
// no more.
func TestChartInstall(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	serviceMonitorCRD(t, ctx)
	ns := newNamespace(t, ctx, "chart-")
	days := newNamespace(t, ctx, "chart-days-")
	other := newNamespace(t, ctx, "chart-other-")
	values := map[string]any{
		"rbac":    map[string]any{"secretNamespaces": []any{days}},
		"metrics": map[string]any{"serviceMonitor": map[string]any{"enabled": true}},
		"worker": map[string]any{"serviceAccount": map[string]any{"annotations": map[string]any{
			"eks.amazonaws.com/role-arn": "arn:aws:iam::111122223333:role/parquetrail-worker"}}},
		"daily": map[string]any{"enabled": true, "suspend": true, "day": map[string]any{
			"name": "daily", "namespace": days,
			"spec": map[string]any{"timeZone": "Asia/Seoul", "source": map[string]any{"bucket": "trail"},
				"destination": map[string]any{"bucket": "lake"}}}},
	}
	out := helmInstall(t, "inst", ns, values)
	if !strings.Contains(out, "STATUS: deployed") || !strings.Contains(out, "kubectl get cloudtraildays -A -w") ||
		!strings.Contains(out, "create job --from=cronjob/inst-parquetrail-daily") {
		t.Errorf("helm install printed:\n%s", out)
	}

	// Every object helm rendered is there, and the chart's CRD applies
	// over the one the suite installed (server-side apply).
	objs := chart.Render(t, "inst", ns, withValue(values, "crds", map[string]any{"install": true}))
	for _, o := range objs {
		if o.GetKind() == "CustomResourceDefinition" {
			if err := k8s.Apply(ctx, client.ApplyConfigurationFromUnstructured(o), client.FieldOwner("chart-e2e"), client.ForceOwnership); err != nil {
				t.Errorf("applying the chart's CRD %s: %v", o.GetName(), err)
			}
			continue
		}
		if o.GetAnnotations()["helm.sh/hook"] != "" {
			continue // created by helm test, not by the install
		}
		got := &unstructured.Unstructured{}
		got.SetGroupVersionKind(o.GroupVersionKind())
		if err := k8s.Get(ctx, client.ObjectKeyFromObject(o), got); err != nil {
			t.Errorf("%s %s/%s: %v", o.GetKind(), o.GetNamespace(), o.GetName(), err)
		}
	}

	mgr, worker, creator := "inst-parquetrail-manager", "inst-parquetrail-worker", "inst-parquetrail-day-creator"
	checkAccess(t, ctx, ns, mgr, []access{
		{"get", "parquetrail.io", "cloudtraildays", "", ""},
		{"list", "parquetrail.io", "cloudtraildays", "", ""},
		{"watch", "parquetrail.io", "cloudtraildays", "", ""},
		{"update", "parquetrail.io", "cloudtraildays", "", days},
		{"patch", "parquetrail.io", "cloudtraildays", "", other},
		{"update", "parquetrail.io", "cloudtraildays", "status", days},
		{"patch", "parquetrail.io", "cloudtraildays", "status", other},
		{"update", "parquetrail.io", "cloudtraildays", "finalizers", days},
		{"create", "batch", "jobs", "", days},
		{"delete", "batch", "jobs", "", other},
		{"patch", "batch", "jobs", "", days},
		{"list", "batch", "jobs", "", ""},
		{"watch", "batch", "jobs", "", ""},
		{"create", "events.k8s.io", "events", "", days},
		{"get", "", "secrets", "", days},
		{"create", "coordination.k8s.io", "leases", "", ns},
		{"update", "coordination.k8s.io", "leases", "", ns},
		{"create", "", "events", "", ns},
		{"create", "authentication.k8s.io", "tokenreviews", "", ""},
		{"create", "authorization.k8s.io", "subjectaccessreviews", "", ""},
	}, []access{
		{"delete", "", "namespaces", "", ""},
		{"list", "", "secrets", "", ""},
		{"list", "", "secrets", "", days},
		{"watch", "", "secrets", "", days},
		{"get", "", "secrets", "", other},
		{"get", "", "secrets", "", ns},
		{"create", "", "pods", "", days},
		{"delete", "", "pods", "", days},
		{"create", "", "pods", "exec", days},
		{"get", "", "configmaps", "", days},
		{"create", "parquetrail.io", "cloudtraildays", "", days},
		{"delete", "parquetrail.io", "cloudtraildays", "", days},
		{"update", "batch", "jobs", "", days},
		{"create", "batch", "cronjobs", "", days},
		{"create", "coordination.k8s.io", "leases", "", other},
		{"create", "", "events", "", other},
		{"create", "", "serviceaccounts", "token", days},
		{"impersonate", "", "users", "", ""},
		{"create", "rbac.authorization.k8s.io", "rolebindings", "", days},
		{"escalate", "rbac.authorization.k8s.io", "clusterroles", "", ""},
		{"update", "apiextensions.k8s.io", "customresourcedefinitions", "", ""},
	})
	// The workers need no Kubernetes API at all.
	checkAccess(t, ctx, days, worker, nil, []access{
		{"get", "", "pods", "", days},
		{"get", "", "secrets", "", days},
		{"get", "", "configmaps", "", days},
		{"list", "parquetrail.io", "cloudtraildays", "", days},
		{"create", "batch", "jobs", "", days},
		{"create", "events.k8s.io", "events", "", days},
	})
	// The CronJob's pods create days in the days' namespace, nothing else.
	checkAccess(t, ctx, ns, creator, []access{
		{"create", "parquetrail.io", "cloudtraildays", "", days},
	}, []access{
		{"create", "parquetrail.io", "cloudtraildays", "", ns},
		{"create", "parquetrail.io", "cloudtraildays", "", other},
		{"get", "parquetrail.io", "cloudtraildays", "", days},
		{"update", "parquetrail.io", "cloudtraildays", "", days},
		{"delete", "parquetrail.io", "cloudtraildays", "", days},
		{"update", "parquetrail.io", "cloudtraildays", "status", days},
		{"get", "", "secrets", "", days},
		{"create", "batch", "jobs", "", days},
		{"create", "", "pods", "", ns},
	})

	// Without secretNamespaces the manager reads a Secret by name in the
	// release's namespace only; with "*", in any namespace, and still lists
	// none.
	narrow := newNamespace(t, ctx, "chart-narrow-")
	helmInstall(t, "narrow", narrow, map[string]any{"rbac": map[string]any{"userRoles": false}})
	checkAccess(t, ctx, narrow, "narrow-parquetrail-manager", []access{
		{"get", "", "secrets", "", narrow},
	}, []access{
		{"get", "", "secrets", "", days},
		{"get", "", "secrets", "", other},
		{"list", "", "secrets", "", narrow},
		{"watch", "", "secrets", "", narrow},
	})
	wide := newNamespace(t, ctx, "chart-wide-")
	helmInstall(t, "wide", wide, map[string]any{"rbac": map[string]any{"userRoles": false, "secretNamespaces": []any{"*"}}})
	checkAccess(t, ctx, wide, "wide-parquetrail-manager", []access{
		{"get", "", "secrets", "", days},
		{"get", "", "secrets", "", other},
	}, []access{
		{"list", "", "secrets", "", ""},
		{"list", "", "secrets", "", other},
		{"watch", "", "secrets", "", ""},
		{"create", "", "secrets", "", other},
	})
}

// pacificZone is a zone whose date differs from UTC's at t: Kiritimati
// (UTC+14) is a day ahead from 10:00 UTC, Pago Pago (UTC-11) a day behind
// until 11:00 UTC.
func pacificZone(t time.Time) string {
	if t.UTC().Hour() < 10 {
		return "Pacific/Pago_Pago"
	}
	return "Pacific/Kiritimati"
}

// TestChartCronJobCreatesYesterday runs the chart's daily CronJob on a
// minute schedule: kube-controller-manager's CronJob controller starts the
// Job, the process kubelet runs "/manager create-day" as the chart's day
// creator, and the day of yesterday in the zone appears. A second run
// finds the day there and says so.
func TestChartCronJobCreatesYesterday(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	ns := newNamespace(t, ctx, "chart-cron-")
	// No zone's date differs from UTC's both just before and just after
	// midnight UTC: a run that slipped past it would prove nothing.
	if now := time.Now().UTC(); now.Hour() == 23 && now.Minute() >= 58 {
		time.Sleep(time.Until(now.Truncate(time.Hour).Add(time.Hour + 5*time.Second)))
	}
	// The run is at the next minute; pick the zone for then.
	zone := pacificZone(time.Now().Truncate(time.Minute).Add(time.Minute))
	helmInstall(t, "cron", ns, map[string]any{
		"daily": map[string]any{
			"enabled":  true,
			"schedule": "* * * * *",
			"timeZone": zone,
			"day": map[string]any{
				"name":   "cron",
				"labels": map[string]any{"team": "sec"},
				// The day waits for its window: this test is about the
				// CronJob, not the day.
				"spec": map[string]any{"timeZone": zone, "lateArrival": "168h",
					"source": map[string]any{"bucket": "trail"}, "destination": map[string]any{"bucket": "lake"}},
			},
		},
	})

	var cj batchv1.CronJob
	if err := k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "cron-parquetrail-daily"}, &cj); err != nil {
		t.Fatal(err)
	}
	var job batchv1.Job
	eventually(t, 100*time.Second, "the CronJob's first Job completes", func() error {
		var jobs batchv1.JobList
		if err := k8s.List(ctx, &jobs, client.InNamespace(ns)); err != nil {
			return err
		}
		for _, j := range jobs.Items {
			if metav1.IsControlledBy(&j, &cj) {
				job = j
				if jobDone(&j, batchv1.JobFailed) {
					t.Fatalf("job %s failed: %+v\n%s", j.Name, j.Status.Conditions, podLogs(t, ns, "create-day"))
				}
				if jobDone(&j, batchv1.JobComplete) {
					return nil
				}
				return fmt.Errorf("job %s: %+v", j.Name, j.Status.Conditions)
			}
		}
		return fmt.Errorf("no Job yet (CronJob status %+v)", cj.Status)
	})
	scheduled, err := time.Parse(time.RFC3339, job.Annotations[batchv1.CronJobScheduledTimestampAnnotation])
	if err != nil {
		t.Fatalf("job %s: scheduled time: %v", job.Name, err)
	}
	loc, err := time.LoadLocation(zone)
	if err != nil {
		t.Fatal(err)
	}
	local := scheduled.In(loc)
	if local.Format(time.DateOnly) == scheduled.UTC().Format(time.DateOnly) {
		t.Fatalf("the run at %s has the same date in %s as in UTC; the test picks its zone wrongly", scheduled.UTC(), zone)
	}
	want := time.Date(local.Year(), local.Month(), local.Day()-1, 12, 0, 0, 0, loc).Format(time.DateOnly)
	name := "cron-" + want

	var day v1alpha1.CloudTrailDay
	if err := k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &day); err != nil {
		var days v1alpha1.CloudTrailDayList
		_ = k8s.List(ctx, &days, client.InNamespace(ns))
		var names []string
		for _, d := range days.Items {
			names = append(names, d.Name)
		}
		t.Fatalf("the run scheduled at %s (%s in %s) made no day %s: %v; days: %v\n%s",
			scheduled.UTC().Format(time.RFC3339), local.Format(time.DateTime), zone, name, err, names, podLogs(t, ns, "create-day"))
	}
	if day.Spec.Date != want || day.Spec.TimeZone != zone || day.Labels["team"] != "sec" || day.Labels["parquetrail.io/template"] != "cron" ||
		day.Spec.Workers.ServiceAccountName != "cron-parquetrail-worker" {
		t.Errorf("day %s: labels %v, spec %+v", name, day.Labels, day.Spec)
	}
	if logs := podLogs(t, ns, "create-day"); !strings.Contains(logs, fmt.Sprintf("cloudtrailday %s/%s created for %s (%s)", ns, name, want, zone)) {
		t.Errorf("the first run's log:\n%s", logs)
	}

	// A second run, now (as kubectl create job --from=cronjob/... makes it).
	manual := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: "cron-again", Namespace: ns,
			Annotations:     map[string]string{"cronjob.kubernetes.io/instantiate": "manual"},
			Labels:          cj.Spec.JobTemplate.Labels,
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(&cj, batchv1.SchemeGroupVersion.WithKind("CronJob"))}},
		Spec: cj.Spec.JobTemplate.Spec,
	}
	if err := k8s.Create(ctx, manual); err != nil {
		t.Fatal(err)
	}
	eventually(t, time.Minute, "the second run completes", func() error {
		if err := k8s.Get(ctx, client.ObjectKeyFromObject(manual), manual); err != nil {
			return err
		}
		if !jobDone(manual, batchv1.JobComplete) {
			return fmt.Errorf("conditions %+v", manual.Status.Conditions)
		}
		return nil
	})
	logs := podLogs(t, ns, "create-day")
	if !strings.Contains(logs, fmt.Sprintf("cloudtrailday %s/%s already exists; nothing to do", ns, name)) {
		t.Errorf("the second run does not say the day was there:\n%s", logs)
	}
	var days v1alpha1.CloudTrailDayList
	if err := k8s.List(ctx, &days, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	for _, d := range days.Items {
		if d.Name != name {
			t.Errorf("another day %s (%s)", d.Name, d.Spec.Date)
		}
	}
}

// podLogs is what the kubelet logged for the namespace's containers of
// that name, oldest first.
func podLogs(t *testing.T, ns, container string) string {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(workDir, "logs", ns+"_*_"+container+"_*.log"))
	type entry struct {
		mod  time.Time
		text string
	}
	var out []entry
	for _, f := range files {
		st, err := os.Stat(f)
		if err != nil {
			continue
		}
		b, _ := os.ReadFile(f)
		out = append(out, entry{st.ModTime(), filepath.Base(f) + ":\n" + string(b)})
	}
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j].mod.Before(out[i].mod) {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	var b strings.Builder
	for _, e := range out {
		b.WriteString(e.text)
	}
	return b.String()
}

// TestChartManagerRunsADay runs a day with the chart's settings: the
// manager binary runs the chart's Deployment pod as the chart's manager
// service account (with its RBAC, and Secrets readable only in the days'
// namespace), the day comes from the chart's day template, and its workers
// run as the chart's worker service account.
func TestChartManagerRunsADay(t *testing.T) {
	w := newWorld(t, dayOptions())
	margin := w.stats.LastDelivery.Sub(w.stats.WindowEnd) + time.Minute
	spec := v1alpha1.CloudTrailDaySpec{
		TimeZone:        w.day.TimeZone,
		Source:          v1alpha1.TrailSource{ObjectStore: w.objectStore(logsBucket, w.day.Prefix)},
		Destination:     w.objectStore(lakeBucket, "chart"),
		Columns:         v1alpha1.ColumnsSeed,
		LocalTimeColumn: "eventtime_kst",
		OnMalformed:     v1alpha1.MalformedReport,
		LateArrival:     &metav1.Duration{Duration: margin.Round(time.Minute) + time.Minute},
		Workers:         v1alpha1.Workers{BackoffLimitPerIndex: ptr.To[int32](2)},
	}
	b, _ := json.Marshal(spec)
	var specValues map[string]any
	_ = json.Unmarshal(b, &specValues)
	delete(specValues, "date")
	values := map[string]any{
		"rbac": map[string]any{"secretNamespaces": []any{w.ns}, "userRoles": false},
		"worker": map[string]any{"parallelism": 2, "targetShardSize": "1Mi",
			"resources": map[string]any{"requests": map[string]any{"cpu": "250m", "memory": "300Mi"}, "limits": map[string]any{"memory": "600Mi"}}},
		"daily": map[string]any{"enabled": true, "suspend": true, "day": map[string]any{"name": "chart", "spec": specValues}},
	}
	const release = "op"
	helmInstall(t, release, w.ns, values)
	objs := chart.Render(t, release, w.ns, values)

	// The chart's manager, not the suite's, runs the day.
	stopManager()
	t.Cleanup(func() {
		if err := startManager(); err != nil {
			t.Errorf("restarting the suite's manager: %v", err)
		}
	})
	var dep appsv1.Deployment
	fromUnstructured(t, chart.Find(objs, "Deployment", "-manager"), &dep)
	// The test plays the ReplicaSet controller: one pod from the
	// Deployment's template. Processes share the host's network, so the
	// servers bind to free loopback ports.
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: dep.Name + "-0", Namespace: w.ns, Labels: dep.Spec.Template.Labels},
		Spec:       dep.Spec.Template.Spec,
	}
	c := &pod.Spec.Containers[0]
	for i, a := range c.Args {
		if name, _, ok := strings.Cut(a, "="); ok && (name == "--metrics-bind-address" || name == "--health-probe-bind-address") {
			c.Args[i] = name + "=127.0.0.1:0"
		}
	}
	if err := k8s.Create(w.ctx, pod); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = k8s.Delete(context.Background(), pod, client.GracePeriodSeconds(0))
		// The kubelet stops the process once the pod is gone.
		time.Sleep(time.Second)
	})
	eventually(t, time.Minute, "the chart's manager leads", func() error {
		if err := k8s.Get(w.ctx, client.ObjectKeyFromObject(pod), pod); err != nil {
			return err
		}
		if pod.Status.Phase == corev1.PodFailed || pod.Status.Phase == corev1.PodSucceeded {
			t.Fatalf("the manager exited: %+v\n%s", pod.Status.ContainerStatuses, podLogs(t, w.ns, "manager"))
		}
		var lease coordinationv1.Lease
		if err := k8s.Get(w.ctx, client.ObjectKey{Namespace: w.ns, Name: "manager.parquetrail.io"}, &lease); err != nil {
			return err
		}
		if ptr.Deref(lease.Spec.HolderIdentity, "") == "" {
			return fmt.Errorf("lease without holder")
		}
		return nil
	})

	// What helm test would check, now that the manager leads.
	checkHelmTest(t, w.ctx, objs, w.ns, release)

	// The day, from the chart's template.
	var cm corev1.ConfigMap
	if err := k8s.Get(w.ctx, client.ObjectKey{Namespace: w.ns, Name: release + "-parquetrail-day-template"}, &cm); err != nil {
		t.Fatal(err)
	}
	var day v1alpha1.CloudTrailDay
	if err := yaml.UnmarshalStrict([]byte(cm.Data["day.yaml"]), &day); err != nil {
		t.Fatal(err)
	}
	day.Name = "chart-" + w.day.Date
	day.Spec.Date = w.day.Date
	if err := k8s.Create(w.ctx, &day); err != nil {
		t.Fatal(err)
	}
	got := w.waitStage(day.Name, v1alpha1.StageSucceeded, 3*time.Minute)
	for _, j := range w.jobs(day.Name) {
		r := j.Spec.Template.Spec.Containers[0].Resources
		if !r.Requests.Memory().Equal(resource.MustParse("300Mi")) || !r.Limits.Memory().Equal(resource.MustParse("600Mi")) {
			t.Errorf("job %s: resources %+v, want the chart's worker.resources", j.Name, r)
		}
	}
	if got.Status.Counts.RecordsWritten != w.stats.Rows || got.Status.Shards.Total < 2 {
		t.Errorf("written %d (want %d) in %d shards", got.Status.Counts.RecordsWritten, w.stats.Rows, got.Status.Shards.Total)
	}
	if _, rows := w.published("chart"); int64(len(rows)) != w.stats.Rows {
		t.Errorf("published %d rows, want %d", len(rows), w.stats.Rows)
	}

	// The workers ran as the chart's worker account, without an API token,
	// as many at once as the chart says.
	var pods corev1.PodList
	if err := k8s.List(w.ctx, &pods, client.InNamespace(w.ns), client.MatchingLabels{v1alpha1.DayLabel: day.Name}); err != nil {
		t.Fatal(err)
	}
	if len(pods.Items) == 0 {
		t.Fatal("no worker pods")
	}
	for _, p := range pods.Items {
		if p.Spec.ServiceAccountName != release+"-parquetrail-worker" || ptr.Deref(p.Spec.AutomountServiceAccountToken, true) {
			t.Errorf("worker pod %s runs as %q, automount %v", p.Name, p.Spec.ServiceAccountName, p.Spec.AutomountServiceAccountToken)
		}
	}
	for _, j := range w.jobs(day.Name) {
		if j.Labels[v1alpha1.StepLabel] == v1alpha1.StepFlatten && ptr.Deref(j.Spec.Parallelism, 0) != 2 {
			t.Errorf("flatten Job parallelism %d, want the chart's 2", ptr.Deref(j.Spec.Parallelism, 0))
		}
	}
	// It recorded its events on the day with its own rights.
	var events eventsv1.EventList
	if err := k8s.List(w.ctx, &events, client.InNamespace(w.ns)); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range events.Items {
		if e.Regarding.Name == day.Name && e.Regarding.Kind == "CloudTrailDay" {
			n++
		}
	}
	if n == 0 {
		t.Error("no events on the day")
	}
	if logs := podLogs(t, w.ns, "manager"); strings.Contains(logs, "forbidden") {
		t.Errorf("the manager was refused something:\n%s", logs)
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
