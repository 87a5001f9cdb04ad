package chart

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	lua "github.com/yuin/gopher-lua"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/parquetrail/parquetrail/api/v1alpha1"
)

const healthKey = "resource.customizations.health.parquetrail.io_CloudTrailDay"

// healthScript is the Lua health check shipped for Argo CD's argocd-cm.
func healthScript(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(Root(), "docs", "gitops", "argocd-cm-health.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var cm struct {
		APIVersion string            `json:"apiVersion"`
		Kind       string            `json:"kind"`
		Metadata   metav1.ObjectMeta `json:"metadata"`
		Data       map[string]string `json:"data"`
	}
	if err := yaml.UnmarshalStrict(b, &cm); err != nil {
		t.Fatal(err)
	}
	if cm.Kind != "ConfigMap" || cm.Metadata.Name != "argocd-cm" || cm.Data[healthKey] == "" {
		t.Fatalf("argocd-cm-health.yaml is not an argocd-cm with %s", healthKey)
	}
	return cm.Data[healthKey]
}

// health runs the script as Argo CD does: the object, decoded from JSON, in
// the global obj, in a state with only the safe standard libraries; the
// script returns a table with status and message.
func health(t *testing.T, script string, day *v1alpha1.CloudTrailDay) (status, message string) {
	t.Helper()
	b, err := json.Marshal(day)
	if err != nil {
		t.Fatal(err)
	}
	var obj map[string]any
	if err := json.Unmarshal(b, &obj); err != nil {
		t.Fatal(err)
	}
	L := lua.NewState(lua.Options{SkipOpenLibs: true})
	defer L.Close()
	for _, lib := range []struct {
		name string
		open lua.LGFunction
	}{{lua.BaseLibName, lua.OpenBase}, {lua.TabLibName, lua.OpenTable}, {lua.StringLibName, lua.OpenString}, {lua.MathLibName, lua.OpenMath}} {
		L.Push(L.NewFunction(lib.open))
		L.Push(lua.LString(lib.name))
		L.Call(1, 0)
	}
	L.SetGlobal("obj", toLua(L, obj))
	if err := L.DoString(script); err != nil {
		t.Fatalf("the health script fails: %v", err)
	}
	ret, ok := L.Get(-1).(*lua.LTable)
	if !ok {
		t.Fatalf("the health script returned %v, not a table", L.Get(-1))
	}
	return lua.LVAsString(ret.RawGetString("status")), lua.LVAsString(ret.RawGetString("message"))
}

func toLua(L *lua.LState, v any) lua.LValue {
	switch v := v.(type) {
	case map[string]any:
		t := L.NewTable()
		for k, x := range v {
			t.RawSetString(k, toLua(L, x))
		}
		return t
	case []any:
		t := L.NewTable()
		for _, x := range v {
			t.Append(toLua(L, x))
		}
		return t
	case string:
		return lua.LString(v)
	case float64:
		return lua.LNumber(v)
	case bool:
		return lua.LBool(v)
	}
	return lua.LNil
}

func TestArgoCDHealth(t *testing.T) {
	script := healthScript(t)
	now := metav1.NewTime(time.Date(2026, 11, 25, 16, 0, 0, 0, time.UTC))
	day := func(generation int64, reason v1alpha1.Stage, message string, observed int64) *v1alpha1.CloudTrailDay {
		d := &v1alpha1.CloudTrailDay{
			TypeMeta:   metav1.TypeMeta{APIVersion: "parquetrail.io/v1alpha1", Kind: "CloudTrailDay"},
			ObjectMeta: metav1.ObjectMeta{Name: "seed-2026-11-24", Namespace: "security", Generation: generation},
			Spec: v1alpha1.CloudTrailDaySpec{Date: "2026-11-24", TimeZone: "Asia/Seoul",
				Source:      v1alpha1.TrailSource{ObjectStore: v1alpha1.ObjectStore{Bucket: "trail"}},
				Destination: v1alpha1.ObjectStore{Bucket: "lake"}},
		}
		if reason == "" {
			return d
		}
		status := metav1.ConditionFalse
		if reason == v1alpha1.StageSucceeded {
			status = metav1.ConditionTrue
		}
		d.Status.ObservedGeneration = observed
		d.Status.Conditions = []metav1.Condition{{Type: v1alpha1.ConditionReady, Status: status, Reason: string(reason),
			Message: message, ObservedGeneration: observed, LastTransitionTime: now}}
		return d
	}
	flattening := day(1, v1alpha1.StageFlattening, "17 of 40 shards flattened, 4 running (Job seed-2026-11-24-1-flatten)", 1)
	flattening.Status.Shards = v1alpha1.Shards{Total: 40, Succeeded: 17, Active: 4, Progress: "17/40"}
	otherCondition := day(1, "", "", 0)
	otherCondition.Status.Conditions = []metav1.Condition{{Type: "Other", Status: metav1.ConditionTrue, Reason: "X", LastTransitionTime: now}}

	cases := []struct {
		name        string
		day         *v1alpha1.CloudTrailDay
		status, msg string
	}{
		{"new", day(1, "", "", 0), "Progressing", "Waiting for the operator to reconcile the day"},
		{"no Ready condition", otherCondition, "Progressing", "Waiting for the operator to reconcile the day"},
		{"Waiting", day(1, v1alpha1.StageWaiting, "The day's window closes at 2026-11-24T16:00:00Z, with the late-arrival margin (in 2h0m0s)", 1),
			"Suspended", "Waiting: The day's window closes at 2026-11-24T16:00:00Z, with the late-arrival margin (in 2h0m0s)"},
		{"Queued", day(1, v1alpha1.StageQueued, "Waiting for a slot: 4 of 4 days running, 2 queued before this one (oldest date first)", 1),
			"Progressing", "Queued: Waiting for a slot: 4 of 4 days running, 2 queued before this one (oldest date first)"},
		{"Planning", day(1, v1alpha1.StagePlanning, "Attempt 1: listing the day's log files", 1), "Progressing", "Planning: Attempt 1: listing the day's log files"},
		{"Planning, retrying", day(1, v1alpha1.StagePlanning, "Cannot reach the stores, retrying: AccessDenied", 1), "Progressing", "Planning: Cannot reach the stores, retrying: AccessDenied"},
		{"Flattening", flattening, "Progressing", "Flattening: 17 of 40 shards flattened, 4 running (Job seed-2026-11-24-1-flatten) (17/40 shards)"},
		{"Merging", day(1, v1alpha1.StageMerging, "Merging 40 parts into proc_ymd=20261124/", 1), "Progressing", "Merging: Merging 40 parts into proc_ymd=20261124/"},
		{"Succeeded", day(1, v1alpha1.StageSucceeded, "Published 12840211 records in 3 files", 1), "Healthy", "Succeeded: Published 12840211 records in 3 files"},
		{"Failed", day(1, v1alpha1.StageFailed, "The flatten Job seed-2026-11-24-1-flatten failed", 1), "Degraded", "Failed: The flatten Job seed-2026-11-24-1-flatten failed"},
		{"Failed, empty message", day(1, v1alpha1.StageFailed, "", 1), "Degraded", "Failed"},
		{"spec changed, not yet seen", day(2, v1alpha1.StageFailed, "Invalid day", 1), "Progressing", "Waiting for the operator to observe generation 2"},
		{"spec changed after success", day(3, v1alpha1.StageSucceeded, "Published", 3), "Healthy", "Succeeded: Published"},
		{"unknown reason", day(1, "Paused", "", 1), "Progressing", "Paused"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, msg := health(t, script, c.day)
			if status != c.status || msg != c.msg {
				t.Errorf("health = %s %q, want %s %q", status, msg, c.status, c.msg)
			}
		})
	}
}
