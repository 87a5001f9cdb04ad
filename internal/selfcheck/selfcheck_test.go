package selfcheck

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseAccess(t *testing.T) {
	tests := []struct {
		in      string
		want    []Access
		wantErr bool
	}{
		{in: "get:secrets@ns1", want: []Access{{Verb: "get", Resource: "secrets", Namespace: "ns1"}}},
		{in: "create,delete:jobs.batch", want: []Access{{Verb: "create", Group: "batch", Resource: "jobs"}, {Verb: "delete", Group: "batch", Resource: "jobs"}}},
		{in: "update:cloudtraildays.parquetrail.io/status", want: []Access{{Verb: "update", Group: "parquetrail.io", Resource: "cloudtraildays", Subresource: "status"}}},
		{in: "get:leases.coordination.k8s.io@sys", want: []Access{{Verb: "get", Group: "coordination.k8s.io", Resource: "leases", Namespace: "sys"}}},
		{in: "secrets", wantErr: true},
		{in: "get:", wantErr: true},
		{in: "get,:secrets", wantErr: true},
		{in: "get:.batch", wantErr: true},
	}
	for _, tc := range tests {
		got, err := ParseAccess(tc.in)
		if (err != nil) != tc.wantErr {
			t.Errorf("ParseAccess(%q) error %v, want error %v", tc.in, err, tc.wantErr)
			continue
		}
		if diff := cmp.Diff(tc.want, got); !tc.wantErr && diff != "" {
			t.Errorf("ParseAccess(%q) (-want +got):\n%s", tc.in, diff)
		}
	}
}
