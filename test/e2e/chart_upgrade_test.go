package e2e

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/parquetrail/parquetrail/api/v1alpha1"
	"github.com/parquetrail/parquetrail/internal/selfcheck"
	"github.com/parquetrail/parquetrail/test/chart"
)

// previousChart is chart 0.1.0, packaged by hack/chart-previous.sh from
// the commit that released it; its CRD is in crds/.
var previousChart = filepath.Join("testdata", "parquetrail-0.1.0.tgz")

// crdFromPackage reads the CRD out of a packaged chart's crds/.
func crdFromPackage(t *testing.T, helm, pkg string) *apiextensionsv1.CustomResourceDefinition {
	t.Helper()
	out, err := chart.Run(helm, "show", "crds", pkg)
	if err != nil {
		t.Fatal(err)
	}
	var crd apiextensionsv1.CustomResourceDefinition
	if err := yaml.Unmarshal([]byte(out), &crd); err != nil || crd.Name != "cloudtraildays.parquetrail.io" {
		t.Fatalf("%s: crds: %v (%q)", pkg, err, crd.Name)
	}
	return &crd
}

// TestChartUpgrade installs chart 0.1.0 (its CRD as helm's crds/ would
// leave it), makes a day, upgrades to this chart, and checks that the CRD
// is now this chart's (owned by the release, kept on uninstall) and that
// the day survived the upgrade and the uninstall.
func TestChartUpgrade(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	helm := chart.Helm(t)
	kc, err := admin()
	if err != nil {
		t.Fatal(err)
	}
	ns := newNamespace(t, ctx, "chart-upgrade-")
	crds := crdClient(t)

	// The cluster as 0.1.0 leaves it: its CRD, not owned by any release.
	old := crdFromPackage(t, helm, previousChart)
	var live apiextensionsv1.CustomResourceDefinition
	if err := crds.Get(ctx, client.ObjectKey{Name: old.Name}, &live); err != nil {
		t.Fatal(err)
	}
	suiteSpec := live.Spec.DeepCopy()
	t.Cleanup(func() {
		// Leave the suite's CRD as the suite installed it.
		var l apiextensionsv1.CustomResourceDefinition
		if err := crds.Get(context.Background(), client.ObjectKey{Name: old.Name}, &l); err == nil {
			l.Spec = *suiteSpec
			_ = crds.Update(context.Background(), &l)
		}
	})
	live.Spec = old.Spec
	live.Annotations = map[string]string{"parquetrail.io/marker": "0.1.0"}
	if err := crds.Update(ctx, &live); err != nil {
		t.Fatal(err)
	}
	values := chart.ValuesFile(t, map[string]any{"rbac": map[string]any{"userRoles": false}})
	if out, err := chart.Run(helm, "install", "upg", previousChart, "--namespace", ns, "--kubeconfig", kc, "--values", values); err != nil {
		t.Fatal(err)
	} else if !strings.Contains(out, "STATUS: deployed") {
		t.Fatalf("helm install of 0.1.0:\n%s", out)
	}
	day := &v1alpha1.CloudTrailDay{ObjectMeta: metav1.ObjectMeta{Name: "before-upgrade", Namespace: ns},
		Spec: v1alpha1.CloudTrailDaySpec{Date: time.Now().UTC().Format(time.DateOnly), TimeZone: "UTC",
			Source:      v1alpha1.TrailSource{ObjectStore: v1alpha1.ObjectStore{Bucket: "trail"}},
			Destination: v1alpha1.ObjectStore{Bucket: "lake"},
			// It waits for its window: the test is about the chart.
			LateArrival: &metav1.Duration{Duration: 168 * time.Hour}}}
	if err := k8s.Create(ctx, day); err != nil {
		t.Fatal(err)
	}

	// Without --take-ownership helm refuses to adopt 0.1.0's CRD, and says why.
	_, err = chart.Run(helm, "upgrade", "upg", chart.Dir(), "--namespace", ns, "--kubeconfig", kc, "--values", values)
	if err == nil || !strings.Contains(err.Error(), "invalid ownership metadata") {
		t.Fatalf("helm upgrade without --take-ownership: %v", err)
	}
	out, err := chart.Run(helm, "upgrade", "upg", chart.Dir(), "--namespace", ns, "--kubeconfig", kc, "--values", values, "--take-ownership")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "STATUS: deployed") {
		t.Errorf("helm upgrade:\n%s", out)
	}

	// The CRD is this chart's now, and the release owns it.
	objs := chart.Render(t, "upg", ns, map[string]any{"rbac": map[string]any{"userRoles": false}})
	var want apiextensionsv1.CustomResourceDefinition
	fromUnstructured(t, chart.Find(objs, "CustomResourceDefinition", "cloudtraildays.parquetrail.io"), &want)
	if err := crds.Get(ctx, client.ObjectKey{Name: old.Name}, &live); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want.Spec.Versions, live.Spec.Versions); diff != "" {
		t.Errorf("the CRD's versions after the upgrade (-chart +live):\n%s", diff)
	}
	for k, v := range map[string]string{"meta.helm.sh/release-name": "upg", "meta.helm.sh/release-namespace": ns, "helm.sh/resource-policy": "keep"} {
		if live.Annotations[k] != v {
			t.Errorf("CRD annotation %s = %q, want %q", k, live.Annotations[k], v)
		}
	}
	if live.Labels["helm.sh/chart"] != "parquetrail-0.2.0" {
		t.Errorf("CRD labels %v", live.Labels)
	}
	var got v1alpha1.CloudTrailDay
	if err := k8s.Get(ctx, client.ObjectKeyFromObject(day), &got); err != nil || got.UID != day.UID {
		t.Fatalf("the day after the upgrade: %v (uid %s, was %s)", err, got.UID, day.UID)
	}

	// Uninstalling keeps the CRD, and so the day.
	if _, err := chart.Run(helm, "uninstall", "upg", "--namespace", ns, "--kubeconfig", kc); err != nil {
		t.Fatal(err)
	}
	if err := crds.Get(ctx, client.ObjectKey{Name: old.Name}, &live); err != nil || live.DeletionTimestamp != nil {
		t.Fatalf("the CRD after helm uninstall: %v (deleting: %v)", err, live.DeletionTimestamp)
	}
	if err := k8s.Get(ctx, client.ObjectKeyFromObject(day), &got); err != nil || got.UID != day.UID {
		t.Fatalf("the day after helm uninstall: %v", err)
	}
}

// crdClient is a client that knows CRDs.
func crdClient(t *testing.T) client.Client {
	t.Helper()
	s := runtime.NewScheme()
	if err := apiextensionsv1.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	c, err := client.New(cfg, client.Options{Scheme: s})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// serviceAccountConfig is a client config that authenticates as a
// service account, with a token from the TokenRequest API.
func serviceAccountConfig(t *testing.T, ctx context.Context, ns, name string) *rest.Config {
	t.Helper()
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
	tr := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](600)}}
	if err := k8s.SubResource("token").Create(ctx, sa, tr); err != nil {
		t.Fatalf("token of %s/%s: %v", ns, name, err)
	}
	c := rest.AnonymousClientConfig(cfg)
	c.BearerToken = tr.Status.Token
	return c
}

// runSelfCheck runs the chart's helm test Pod's command (manager
// self-check, with the Pod's arguments) as the Pod's service account,
// against the suite's API server, and returns its exit code and output.
func runSelfCheck(t *testing.T, ctx context.Context, objs []*unstructured.Unstructured, ns string, extra ...string) (int, string) {
	t.Helper()
	var pod corev1.Pod
	u := chart.Find(objs, "Pod", "-self-check")
	if u == nil {
		t.Fatal("the chart renders no helm test Pod")
	}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &pod); err != nil {
		t.Fatal(err)
	}
	if pod.Annotations["helm.sh/hook"] != "test" {
		t.Errorf("test Pod annotations %v", pod.Annotations)
	}
	cmd := pod.Spec.Containers[0].Command
	if len(cmd) < 2 || cmd[0] != "/manager" || cmd[1] != "self-check" {
		t.Fatalf("test Pod command %q", cmd)
	}
	sa := serviceAccountConfig(t, ctx, ns, pod.Spec.ServiceAccountName)
	var out bytes.Buffer
	code := selfcheck.Main(ctx, append(cmd[2:], extra...), &out, func() (*rest.Config, error) { return sa, nil })
	return code, out.String()
}

// checkHelmTest runs the chart's helm test command while the chart's
// manager leads: it passes as the manager's service account, and fails,
// naming what is missing, as the worker's (which has no RBAC).
func checkHelmTest(t *testing.T, ctx context.Context, objs []*unstructured.Unstructured, ns, release string) {
	t.Helper()
	code, out := runSelfCheck(t, ctx, objs, ns)
	if code != 0 || !strings.Contains(out, "manager: ") || !strings.Contains(out, "crd: cloudtraildays.parquetrail.io served") ||
		!strings.Contains(out, "rbac: may create jobs.batch in every namespace") {
		t.Errorf("helm test's self-check exited %d:\n%s", code, out)
	}
	var out2 bytes.Buffer
	worker := serviceAccountConfig(t, ctx, ns, release+"-parquetrail-worker")
	args := []string{"--timeout=3s", "--lease=" + ns + "/manager.parquetrail.io", "--can=create:jobs.batch", "--can=get:secrets@" + ns}
	if code := selfcheck.Main(ctx, args, &out2, func() (*rest.Config, error) { return worker, nil }); code != 1 ||
		!strings.Contains(out2.String(), "FAIL rbac: may not create jobs.batch in every namespace") ||
		!strings.Contains(out2.String(), "FAIL rbac: may not get secrets in namespace "+ns) {
		t.Errorf("self-check as the worker exited %d:\n%s", code, out2.String())
	}
}
