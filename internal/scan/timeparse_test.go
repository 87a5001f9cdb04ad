package scan

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseTime(t *testing.T) {
	at := func(s string) int64 {
		t.Helper()
		v, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return v.UnixMilli()
	}
	type result struct {
		MS        int64
		Canonical bool
		OK        bool
	}
	tests := []struct {
		in   string
		want result
	}{
		{"2024-08-01T01:00:00Z", result{at("2024-08-01T01:00:00Z"), true, true}},
		{"2024-08-01T01:00:00.123Z", result{at("2024-08-01T01:00:00.123Z"), true, true}},
		{"2024-08-01T01:00:00.5Z", result{at("2024-08-01T01:00:00.5Z"), false, true}},
		{"2024-08-01T10:00:00+09:00", result{at("2024-08-01T01:00:00Z"), false, true}},
		// ISO 8601 without a zone: UTC, in both the "T" and the space form.
		{"2024-08-01T01:00:00", result{at("2024-08-01T01:00:00Z"), false, true}},
		{"2024-08-01T01:00:00.250", result{at("2024-08-01T01:00:00.25Z"), false, true}},
		{"2024-08-01 01:00:00", result{at("2024-08-01T01:00:00Z"), false, true}},
		{"2024-08-01 01:00:00.999", result{at("2024-08-01T01:00:00.999Z"), false, true}},
		{"2024-08-01 01:00:00Z", result{at("2024-08-01T01:00:00Z"), false, true}},
		{"2024-08-01 10:00:00+09:00", result{at("2024-08-01T01:00:00Z"), false, true}},
		// Not times.
		{"2024-08-01", result{}},
		{"2024-02-30T01:00:00Z", result{}},
		{"2024-08-01T25:00:00", result{}},
		{"01/08/2024 01:00", result{}},
		{"", result{}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			var got result
			got.MS, got.Canonical, got.OK = parseTime([]byte(tt.in))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("parseTime(%q) (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}
