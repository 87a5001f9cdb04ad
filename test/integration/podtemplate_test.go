package integration

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/parquetrail/parquetrail/api/v1alpha1"
	"github.com/parquetrail/parquetrail/internal/controllertest"
)

// TestWorkerPodTemplate: spec.workers' pod settings land on the Jobs' pod
// template as the API server stores it, and a pod made from that template
// is admitted (restricted Pod Security, an existing priority class).
func TestWorkerPodTemplate(t *testing.T) {
	clock.SetTime(time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC))
	pc := &schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{GenerateName: "parquetrail-batch-"}, Value: 100}
	if err := k8s.Create(t.Context(), pc); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = k8s.Delete(t.Context(), pc) })
	w := controllertest.MakeDay("2026-11-24", "")
	ws := &w.Spec.Workers
	ws.PodAnnotations = map[string]string{"sidecar.istio.io/inject": "false", "karpenter.sh/do-not-disrupt": "true"}
	ws.PodLabels = map[string]string{"team": "security"}
	ws.ImagePullSecrets = []corev1.LocalObjectReference{{Name: "registry"}}
	ws.PriorityClassName = pc.Name
	ws.ActiveDeadlineSeconds = ptr.To[int64](21600)
	ws.ScratchSizeLimit = ptr.To(resource.MustParse("20Gi"))
	ws.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{PreferredDuringSchedulingIgnoredDuringExecution: []corev1.PreferredSchedulingTerm{{
		Weight: 10, Preference: corev1.NodeSelectorTerm{MatchExpressions: []corev1.NodeSelectorRequirement{{Key: "karpenter.sh/capacity-type", Operator: corev1.NodeSelectorOpIn, Values: []string{"spot"}}}},
	}}}}
	d := newDay(t, w)
	d.runPlan(1)
	o := d.waitStage(v1alpha1.StageFlattening, "shards flattened")
	job := d.job("2026-11-24-1-flatten")

	tmpl := job.Spec.Template
	if diff := cmp.Diff(ws.PodAnnotations, tmpl.Annotations); diff != "" {
		t.Errorf("pod annotations (-want +got):\n%s", diff)
	}
	if tmpl.Labels["team"] != "security" || tmpl.Labels[v1alpha1.DayUIDLabel] != string(o.UID) {
		t.Errorf("pod labels = %v", tmpl.Labels)
	}
	spec := tmpl.Spec
	if diff := cmp.Diff(ws.ImagePullSecrets, spec.ImagePullSecrets); diff != "" {
		t.Errorf("imagePullSecrets (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(ws.Affinity, spec.Affinity); diff != "" {
		t.Errorf("affinity (-want +got):\n%s", diff)
	}
	if spec.PriorityClassName != pc.Name || ptr.Deref(job.Spec.ActiveDeadlineSeconds, 0) != 21600 {
		t.Errorf("priorityClassName %q, activeDeadlineSeconds %v", spec.PriorityClassName, job.Spec.ActiveDeadlineSeconds)
	}
	if got := spec.Volumes[0].EmptyDir.SizeLimit; got == nil || got.String() != "20Gi" {
		t.Errorf("scratch sizeLimit = %v", got)
	}
	if got := spec.Containers[0].Resources.Requests[corev1.ResourceEphemeralStorage]; got.String() != "20Gi" {
		t.Errorf("ephemeral-storage request = %s", got.String())
	}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "template-check", Namespace: d.key.Namespace, Annotations: tmpl.Annotations, Labels: tmpl.Labels},
		Spec:       *spec.DeepCopy(),
	}
	if err := k8s.Create(d.ctx, pod, client.DryRunAll); err != nil {
		t.Errorf("a pod of the template is not admitted: %v", err)
	}
}
