package pqfile

import (
	"regexp"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The created_by rules of parquet-mr's VersionParser (matched whole, as
// Matcher.matches does): today's, and the older one that requires the
// "(build ...)" part. Files whose created_by fails them lose their string
// statistics in Spark, Hive, Trino and Athena (PARQUET-251).
var (
	versionRule    = regexp.MustCompile(`^(?:(.*?)\s+version\s*(?:([^(]*?)\s*(?:\(\s*build\s*([^)]*?)\s*\))?)?)$`)
	oldVersionRule = regexp.MustCompile(`^(?:(.+) version ((.*) )?\(build ?(.*)\))$`)
)

func TestCreatedBy(t *testing.T) {
	for _, tc := range []struct {
		version, rev string
		want         string
		wantVersion  string
		wantBuild    string
	}{
		{"v0.3.0", "f2aaa6a1c0ffee", "parquetrail version v0.3.0 (build f2aaa6a1c0ffee)", "v0.3.0", "f2aaa6a1c0ffee"},
		{"1.2.3", "abc-dirty", "parquetrail version 1.2.3 (build abc-dirty)", "1.2.3", "abc-dirty"},
		{"", "", "parquetrail version devel (build unknown)", "devel", "unknown"},
		{"(devel)", "abc", "parquetrail version devel (build abc)", "devel", "abc"},
		// A version with blanks or parentheses would end the version early.
		{"1.0 (rc1)", "a b", "parquetrail version 1.0--rc1- (build a-b)", "1.0--rc1-", "a-b"},
	} {
		got := formatCreatedBy(tc.version, tc.rev)
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("formatCreatedBy(%q, %q) (-want +got):\n%s", tc.version, tc.rev, diff)
		}
		m := versionRule.FindStringSubmatch(got)
		if m == nil {
			t.Fatalf("%q does not match the VersionParser rule", got)
		}
		if diff := cmp.Diff([]string{"parquetrail", tc.wantVersion, tc.wantBuild}, m[1:]); diff != "" {
			t.Errorf("%q parsed (-want +got):\n%s", got, diff)
		}
		if m := oldVersionRule.FindStringSubmatch(got); m == nil || m[1] != "parquetrail" || m[4] != tc.wantBuild {
			t.Errorf("%q does not parse under the older rule: %q", got, m)
		}
	}
	// The old bare name fails both rules: that is the bug this form fixes.
	if versionRule.MatchString("parquetrail") || oldVersionRule.MatchString("parquetrail") {
		t.Error(`"parquetrail" alone parses; the rules above are wrong`)
	}
	// What the writer uses: never the bare name, always the full form.
	if m := versionRule.FindStringSubmatch(CreatedBy()); m == nil || m[1] != "parquetrail" || m[2] == "" || m[3] == "" {
		t.Errorf("CreatedBy() = %q: want parquetrail version <v> (build <sha>)", CreatedBy())
	}
}
