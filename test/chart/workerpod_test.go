package chart

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/ptr"

	"github.com/parquetrail/parquetrail/api/v1alpha1"
)

// The worker pod values reach the manager as --worker-pod-defaults, in
// spec.workers' shape, and only when set.
func TestWorkerPodDefaults(t *testing.T) {
	args := func(values map[string]any) []string {
		objs := Render(t, "pt", "parquetrail-system", values)
		cs, _, _ := unstructured.NestedSlice(Find(objs, "Deployment", "-manager").Object, "spec", "template", "spec", "containers")
		var out []string
		for _, a := range cs[0].(map[string]any)["args"].([]any) {
			out = append(out, a.(string))
		}
		return out
	}
	for _, a := range args(nil) {
		if strings.HasPrefix(a, "--worker-pod-defaults") {
			t.Errorf("default values render %s", a)
		}
	}
	values := map[string]any{"worker": map[string]any{
		"podAnnotations":        map[string]any{"sidecar.istio.io/inject": "false", "karpenter.sh/do-not-disrupt": "true"},
		"podLabels":             map[string]any{"team": "security"},
		"imagePullSecrets":      []any{map[string]any{"name": "registry"}},
		"priorityClassName":     "batch-low",
		"activeDeadlineSeconds": 21600,
		"nodeSelector":          map[string]any{"pool": "batch"},
		"tolerations":           []any{map[string]any{"key": "batch", "operator": "Exists", "effect": "NoSchedule"}},
		"affinity": map[string]any{"nodeAffinity": map[string]any{"requiredDuringSchedulingIgnoredDuringExecution": map[string]any{
			"nodeSelectorTerms": []any{map[string]any{"matchExpressions": []any{map[string]any{"key": "arch", "operator": "In", "values": []any{"arm64"}}}}}}}},
	}}
	var flag string
	for _, a := range args(values) {
		if v, ok := strings.CutPrefix(a, "--worker-pod-defaults="); ok {
			flag = v
		}
	}
	// Decoded as the manager decodes it.
	var got v1alpha1.Workers
	dec := json.NewDecoder(strings.NewReader(flag))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&got); err != nil {
		t.Fatalf("--worker-pod-defaults=%s: %v", flag, err)
	}
	want := v1alpha1.Workers{
		PodAnnotations:        map[string]string{"sidecar.istio.io/inject": "false", "karpenter.sh/do-not-disrupt": "true"},
		PodLabels:             map[string]string{"team": "security"},
		ImagePullSecrets:      []corev1.LocalObjectReference{{Name: "registry"}},
		PriorityClassName:     "batch-low",
		ActiveDeadlineSeconds: ptr.To[int64](21600),
		NodeSelector:          map[string]string{"pool": "batch"},
		Tolerations:           []corev1.Toleration{{Key: "batch", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}},
		Affinity: &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{
			NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchExpressions: []corev1.NodeSelectorRequirement{{Key: "arch", Operator: corev1.NodeSelectorOpIn, Values: []string{"arm64"}}}}}}}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("--worker-pod-defaults (-want +got):\n%s", diff)
	}
}
