package chart

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
)

// dailyPod renders the chart with the daily CronJob and extra values and
// returns the CronJob's pod template.
func dailyPod(t *testing.T, daily, manager map[string]any) corev1.PodTemplateSpec {
	t.Helper()
	values := dailyValues()
	d := values["daily"].(map[string]any)
	for k, v := range daily {
		d[k] = v
	}
	if manager != nil {
		values["manager"] = manager
	}
	cj := Find(Render(t, "pt", "parquetrail-system", values), "CronJob", "-daily")
	if cj == nil {
		t.Fatal("no CronJob")
	}
	var cron batchv1.CronJob
	fromUnstructured(t, cj, &cron)
	return cron.Spec.JobTemplate.Spec.Template
}

// The CronJob's pods can be placed and annotated like the workers (a
// cluster with taints, a priority class for batch work, an injected mesh
// sidecar turned off), and otherwise follow the manager's placement.
func TestDailyPodScheduling(t *testing.T) {
	spot := []any{map[string]any{"key": "spot", "operator": "Exists", "effect": "NoSchedule"}}
	affinity := map[string]any{"nodeAffinity": map[string]any{"requiredDuringSchedulingIgnoredDuringExecution": map[string]any{
		"nodeSelectorTerms": []any{map[string]any{"matchExpressions": []any{map[string]any{"key": "pool", "operator": "In", "values": []any{"batch"}}}}}}}}
	tpl := dailyPod(t, map[string]any{
		"priorityClassName": "batch-low",
		"tolerations":       spot,
		"nodeSelector":      map[string]any{"pool": "batch"},
		"affinity":          affinity,
		"podAnnotations":    map[string]any{"sidecar.istio.io/inject": "false"},
		"podLabels":         map[string]any{"team": "sec"},
	}, nil)
	pod := tpl.Spec
	if pod.PriorityClassName != "batch-low" {
		t.Errorf("priorityClassName %q", pod.PriorityClassName)
	}
	want := []corev1.Toleration{{Key: "spot", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}}
	if diff := cmp.Diff(want, pod.Tolerations); diff != "" {
		t.Errorf("tolerations (-want +got):\n%s", diff)
	}
	if pod.NodeSelector["pool"] != "batch" {
		t.Errorf("nodeSelector %v", pod.NodeSelector)
	}
	if pod.Affinity == nil || pod.Affinity.NodeAffinity == nil {
		t.Errorf("affinity %+v", pod.Affinity)
	}
	if tpl.Annotations["sidecar.istio.io/inject"] != "false" || tpl.Annotations["checksum/day-template"] == "" {
		t.Errorf("annotations %v", tpl.Annotations)
	}
	if tpl.Labels["team"] != "sec" || tpl.Labels["app.kubernetes.io/component"] != "daily" {
		t.Errorf("labels %v", tpl.Labels)
	}

	// Left empty, they are the manager's.
	tpl = dailyPod(t, nil, map[string]any{"priorityClassName": "ops", "tolerations": spot, "nodeSelector": map[string]any{"pool": "ops"}})
	if tpl.Spec.PriorityClassName != "ops" || len(tpl.Spec.Tolerations) != 1 || tpl.Spec.NodeSelector["pool"] != "ops" {
		t.Errorf("daily pod does not follow the manager's placement: %+v", tpl.Spec)
	}
}
