package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestDateBefore(t *testing.T) {
	cases := []struct {
		now     string
		zone    string
		daysAgo int
		want    string
	}{
		{"2026-11-25T16:00:00Z", "UTC", 1, "2026-11-24"},
		{"2026-11-25T16:00:00Z", "", 1, "2026-11-24"},
		{"2026-11-25T16:00:00Z", "Asia/Seoul", 1, "2026-11-25"}, // 01:00 on the 26th in Seoul
		{"2026-11-25T14:59:59Z", "Asia/Seoul", 1, "2026-11-24"},
		{"2026-03-01T05:00:00Z", "America/New_York", 1, "2026-02-28"},
		{"2026-03-09T05:00:00Z", "America/New_York", 1, "2026-03-08"}, // the day after the DST change
		{"2026-01-01T00:30:00Z", "UTC", 0, "2026-01-01"},
		{"2026-01-01T00:30:00Z", "UTC", 31, "2025-12-01"},
	}
	for _, c := range cases {
		now, _ := time.Parse(time.RFC3339, c.now)
		got, err := dateBefore(now, c.zone, c.daysAgo)
		if err != nil || got != c.want {
			t.Errorf("dateBefore(%s, %q, %d) = %q, %v; want %q", c.now, c.zone, c.daysAgo, got, err, c.want)
		}
	}
	if _, err := dateBefore(time.Now(), "Local", 1); err == nil {
		t.Error("Local accepted")
	}
}

func TestDayFromTemplate(t *testing.T) {
	template := `
apiVersion: parquetrail.io/v1alpha1
kind: CloudTrailDay
metadata:
  name: seed
  namespace: security
  labels:
    team: sec
spec:
  timeZone: Asia/Seoul
  source: {bucket: trail}
  destination: {bucket: lake}
  columns: seed
  localTimeColumn: eventtime_kst
`
	now := time.Date(2026, 11, 25, 16, 0, 0, 0, time.UTC)
	d, err := dayFromTemplate([]byte(template), now, 1)
	if err != nil {
		t.Fatal(err)
	}
	if d.Name != "seed-2026-11-25" || d.Namespace != "security" || d.Spec.Date != "2026-11-25" ||
		d.Labels["team"] != "sec" || d.Labels[TemplateLabel] != "seed" || d.Spec.Columns != "seed" {
		t.Errorf("day = %+v", d)
	}
	bad := map[string]string{
		"unknown field": strings.Replace(template, "columns: seed", "colums: seed", 1),
		"no name":       strings.Replace(template, "name: seed", "labels2: {}", 1),
		"other kind":    strings.Replace(template, "kind: CloudTrailDay", "kind: Job", 1),
		"bad zone":      strings.Replace(template, "Asia/Seoul", "Asia/Nowhere", 1),
	}
	for name, b := range bad {
		if _, err := dayFromTemplate([]byte(b), now, 1); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestReadTemplate(t *testing.T) {
	file := filepath.Join(t.TempDir(), "day.yaml")
	if err := os.WriteFile(file, []byte("from: file"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		path, env    string
		want, source string
	}{
		{file, "from: env", "from: file", file},
		{"", "from: env", "from: env", "$" + TemplateEnv},
	}
	for _, c := range cases {
		b, source, err := readTemplate(c.path, c.env)
		if err != nil || string(b) != c.want || source != c.source {
			t.Errorf("readTemplate(%q, %q) = %q, %q, %v; want %q from %q", c.path, c.env, b, source, err, c.want, c.source)
		}
	}
	if _, _, err := readTemplate("", " \n"); err == nil || !strings.Contains(err.Error(), TemplateEnv) {
		t.Errorf("no template: %v", err)
	}
	if _, _, err := readTemplate(filepath.Join(t.TempDir(), "missing.yaml"), "from: env"); err == nil {
		t.Error("a missing file is not an error")
	}
}
