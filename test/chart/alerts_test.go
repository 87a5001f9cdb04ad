package chart

import (
	"context"
	"encoding/json"
	"regexp"
	"sort"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/parquetrail/parquetrail/controllers"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/promql/promqltest"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// The metrics the chart's alerts and dashboard may read: the names the
// manager registers (controllers/metrics.go), so that a rename there fails
// here until the chart follows.
var managerMetrics = map[string]bool{
	controllers.MetricDays:                      true,
	controllers.MetricLastSuccess:               true,
	controllers.MetricDayRuns:                   true,
	controllers.MetricRecordsRead:               true,
	controllers.MetricRecordsWritten:            true,
	controllers.MetricReadBytes:                 true,
	controllers.MetricWrittenBytes:              true,
	controllers.MetricStageDuration + "_bucket": true,
	controllers.MetricStageDuration + "_count":  true,
	controllers.MetricStageDuration + "_sum":    true,
}

// alertExprs renders the chart's PrometheusRule and returns its alerts'
// expressions by name.
func alertExprs(t *testing.T, values map[string]any) map[string]string {
	t.Helper()
	objs := Render(t, "pt", "monitoring", values)
	pr := Find(objs, "PrometheusRule", "pt-parquetrail")
	if pr == nil {
		t.Fatalf("no PrometheusRule in %v", kinds(objs))
	}
	groups, _, _ := unstructured.NestedSlice(pr.Object, "spec", "groups")
	out := map[string]string{}
	for _, g := range groups {
		rules, _, _ := unstructured.NestedSlice(g.(map[string]any), "rules")
		for _, r := range rules {
			r := r.(map[string]any)
			if name, ok := r["alert"].(string); ok {
				out[name] = r["expr"].(string)
			}
		}
	}
	return out
}

// firing evaluates expr at offset from the series' start and returns the
// label sets of the series it returns (those an alert fires for).
func firing(t *testing.T, load, expr string, at time.Duration) []string {
	t.Helper()
	storage := promqltest.LoadedStorage(t, load)
	engine := promqltest.NewTestEngine(t, false, 0, promqltest.DefaultMaxSamplesPerQuery)
	q, err := engine.NewInstantQuery(context.Background(), storage, nil, expr, time.Unix(0, 0).Add(at))
	if err != nil {
		t.Fatalf("%s: %v", expr, err)
	}
	defer q.Close()
	res := q.Exec(context.Background())
	if res.Err != nil {
		t.Fatalf("%s at %s: %v", expr, at, res.Err)
	}
	vec, err := res.Vector()
	if err != nil {
		t.Fatalf("%s: %v", expr, err)
	}
	out := []string{}
	for _, s := range vec {
		out = append(out, s.Metric.String())
	}
	sort.Strings(out)
	return out
}

func TestAlertRules(t *testing.T) {
	rules := alertExprs(t, map[string]any{"prometheusRule": map[string]any{"enabled": true}})
	if diff := cmp.Diff([]string{"ParquetrailDayFailed", "ParquetrailNoDayPublished"}, sortedKeys(rules)); diff != "" {
		t.Fatalf("alerts (-want +got):\n%s", diff)
	}
	// Samples every 5 minutes from time 0; a last-success gauge holds the
	// Unix time of the last day published into its destination.
	tests := []struct {
		name, alert, load string
		at                time.Duration
		want              []string
	}{
		{
			name: "published 30 h ago: quiet", alert: "ParquetrailNoDayPublished",
			load: `load 5m
				parquetrail_last_success_timestamp_seconds{destination="s3://lake/a"} 0x400`,
			at: 30 * time.Hour, want: []string{},
		},
		{
			name: "published 37 h ago: fires", alert: "ParquetrailNoDayPublished",
			load: `load 5m
				parquetrail_last_success_timestamp_seconds{destination="s3://lake/a"} 0x500`,
			at: 37 * time.Hour, want: []string{`{destination="s3://lake/a"}`},
		},
		{
			name: "one destination stale, one fresh", alert: "ParquetrailNoDayPublished",
			load: `load 5m
				parquetrail_last_success_timestamp_seconds{destination="s3://lake/a"} 0x500
				parquetrail_last_success_timestamp_seconds{destination="s3://lake/b"} 0x287 86400x212`,
			at: 40 * time.Hour, want: []string{`{destination="s3://lake/a"}`},
		},
		{
			// Two managers (an old pod and its replacement) export the same
			// destination; the newest success counts.
			name: "the newest of two managers counts", alert: "ParquetrailNoDayPublished",
			load: `load 5m
				parquetrail_last_success_timestamp_seconds{destination="s3://lake/a", pod="old"} 0x500
				parquetrail_last_success_timestamp_seconds{destination="s3://lake/a", pod="new"} 0x287 86400x212`,
			at: 40 * time.Hour, want: []string{},
		},
		{
			name: "a run failed 20 minutes ago", alert: "ParquetrailDayFailed",
			load: `load 5m
				parquetrail_day_runs_total{result="failed"} 0x24 1x24
				parquetrail_day_runs_total{result="succeeded"} 0x12 1x36`,
			at: 2*time.Hour + 20*time.Minute, want: []string{`{result="failed"}`},
		},
		{
			name: "the failure was more than an hour ago", alert: "ParquetrailDayFailed",
			load: `load 5m
				parquetrail_day_runs_total{result="failed"} 0x24 1x24`,
			at: 3*time.Hour + 10*time.Minute, want: []string{},
		},
		{
			name: "old failures only", alert: "ParquetrailDayFailed",
			load: `load 5m
				parquetrail_day_runs_total{result="failed"} 3x48`,
			at: 3 * time.Hour, want: []string{},
		},
		{
			name: "a failure just after the manager restarted", alert: "ParquetrailDayFailed",
			load: `load 5m
				parquetrail_day_runs_total{result="failed"} 3x24 0 0 1x21`,
			at: 2*time.Hour + 30*time.Minute, want: []string{`{result="failed"}`},
		},
		{
			name: "a restart without a failure", alert: "ParquetrailDayFailed",
			load: `load 5m
				parquetrail_day_runs_total{result="failed"} 3x24 0x24`,
			at: 2*time.Hour + 30*time.Minute, want: []string{},
		},
		{
			// Why the manager must export the failed counter at 0 from its
			// start: a series born at 1 has no increase to see.
			name: "a counter first exported at 1 is missed", alert: "ParquetrailDayFailed",
			load: `load 5m
				parquetrail_day_runs_total{result="failed"} _x24 1x24`,
			at: 2*time.Hour + 20*time.Minute, want: []string{},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := firing(t, tc.load, rules[tc.alert], tc.at)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("%s at %s fires for (-want +got):\n%s", rules[tc.alert], tc.at, diff)
			}
		})
	}

	// The bound is a value.
	rules = alertExprs(t, map[string]any{"prometheusRule": map[string]any{"enabled": true, "noDayPublishedHours": 50}})
	load := `load 5m
		parquetrail_last_success_timestamp_seconds{destination="s3://lake/a"} 0x700`
	if got := firing(t, load, rules["ParquetrailNoDayPublished"], 40*time.Hour); len(got) != 0 {
		t.Errorf("noDayPublishedHours 50: fires at 40 h for %v", got)
	}
	if got := firing(t, load, rules["ParquetrailNoDayPublished"], 51*time.Hour); len(got) != 1 {
		t.Errorf("noDayPublishedHours 50: fires at 51 h for %v, want one destination", got)
	}
}

func sortedKeys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Grafana's own variables, replaced by what Grafana would put there.
var grafanaVars = regexp.MustCompile(`\$\{?__(rate_interval|interval|range)\}?`)

func TestGrafanaDashboard(t *testing.T) {
	objs := Render(t, "pt", "monitoring", map[string]any{"grafanaDashboard": map[string]any{"enabled": true}})
	cm := Find(objs, "ConfigMap", "-dashboard")
	if cm == nil {
		t.Fatalf("no dashboard ConfigMap in %v", kinds(objs))
	}
	if cm.GetLabels()["grafana_dashboard"] != "1" {
		t.Errorf("dashboard labels %v lack grafana_dashboard", cm.GetLabels())
	}
	text, _, _ := unstructured.NestedString(cm.Object, "data", "parquetrail.json")
	var dash struct {
		UID        string `json:"uid"`
		Templating struct {
			List []struct{ Name, Type string } `json:"list"`
		} `json:"templating"`
		Panels []struct {
			Title      string `json:"title"`
			Datasource struct {
				UID string `json:"uid"`
			} `json:"datasource"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal([]byte(text), &dash); err != nil {
		t.Fatalf("dashboard JSON: %v", err)
	}
	if dash.UID == "" || len(dash.Templating.List) == 0 || dash.Templating.List[0].Name != "datasource" {
		t.Errorf("dashboard uid %q, variables %+v", dash.UID, dash.Templating.List)
	}
	p := parser.NewParser(parser.Options{})
	used := map[string]bool{}
	n := 0
	for _, panel := range dash.Panels {
		if panel.Datasource.UID != "${datasource}" {
			t.Errorf("panel %q: datasource %q, want the ${datasource} variable", panel.Title, panel.Datasource.UID)
		}
		if len(panel.Targets) == 0 {
			t.Errorf("panel %q has no query", panel.Title)
		}
		for _, target := range panel.Targets {
			n++
			expr, err := p.ParseExpr(grafanaVars.ReplaceAllString(target.Expr, "5m"))
			if err != nil {
				t.Errorf("panel %q: %q: %v", panel.Title, target.Expr, err)
				continue
			}
			for _, sel := range parser.ExtractSelectors(expr) {
				for _, m := range sel {
					if m.Name == "__name__" {
						used[m.Value] = true
						if !managerMetrics[m.Value] {
							t.Errorf("panel %q reads %s, which the manager does not export", panel.Title, m.Value)
						}
					}
				}
			}
		}
	}
	for _, name := range []string{controllers.MetricDays, controllers.MetricLastSuccess, controllers.MetricDayRuns} {
		if !used[name] {
			t.Errorf("no panel reads %s", name)
		}
	}
	if n < 6 {
		t.Errorf("%d queries; the dashboard lost panels", n)
	}
	// The alerts read the same metrics.
	for name, expr := range alertExprs(t, map[string]any{"prometheusRule": map[string]any{"enabled": true}}) {
		e, err := p.ParseExpr(expr)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		for _, sel := range parser.ExtractSelectors(e) {
			for _, m := range sel {
				if m.Name == "__name__" && !managerMetrics[m.Value] {
					t.Errorf("alert %s reads %s, which the manager does not export", name, m.Value)
				}
			}
		}
	}
}
