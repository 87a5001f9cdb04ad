package trail

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseKey(t *testing.T) {
	tests := []struct {
		key    string
		want   Key
		wantOK bool
	}{
		{
			key:    "AWSLogs/123456789012/CloudTrail/us-east-1/2024/01/02/123456789012_CloudTrail_us-east-1_20240102T0135Z_AbCdEf0123456789.json.gz",
			wantOK: true,
			want: Key{Account: "123456789012", Region: "us-east-1", Date: "2024/01/02",
				Delivered: time.Date(2024, 1, 2, 1, 35, 0, 0, time.UTC),
				Name:      "123456789012_CloudTrail_us-east-1_20240102T0135Z_AbCdEf0123456789.json.gz"},
		},
		{
			key:    "cloudtrail/AWSLogs/o-a1b2c3d4e5/210987654321/CloudTrail/ap-northeast-2/2024/12/31/210987654321_CloudTrail_ap-northeast-2_20241231T2355Z_zzzzzzzzzzzzzzzz.json.gz",
			wantOK: true,
			want: Key{Prefix: "cloudtrail/", OrgID: "o-a1b2c3d4e5", Account: "210987654321", Region: "ap-northeast-2", Date: "2024/12/31",
				Delivered: time.Date(2024, 12, 31, 23, 55, 0, 0, time.UTC),
				Name:      "210987654321_CloudTrail_ap-northeast-2_20241231T2355Z_zzzzzzzzzzzzzzzz.json.gz"},
		},
		{
			// The layout sample: "-" before the time, no Z, no unique suffix, plain .json.
			key:    "AWSLogs/o-abcd/811596193553/CloudTrail/us-east-1/2020/09/30/811596193553_CloudTrail_us-east-1-20200930T2300.json",
			wantOK: true,
			want: Key{OrgID: "o-abcd", Account: "811596193553", Region: "us-east-1", Date: "2020/09/30",
				Delivered: time.Date(2020, 9, 30, 23, 0, 0, 0, time.UTC),
				Name:      "811596193553_CloudTrail_us-east-1-20200930T2300.json"},
		},
		{
			key:    "a/b/AWSLogs/c/AWSLogs/123456789012/CloudTrail/us-gov-west-1/2024/02/29/123456789012_CloudTrail_us-gov-west-1_20240229T1200Z_x.json",
			wantOK: true,
			want: Key{Prefix: "a/b/AWSLogs/c/", Account: "123456789012", Region: "us-gov-west-1", Date: "2024/02/29",
				Delivered: time.Date(2024, 2, 29, 12, 0, 0, 0, time.UTC),
				Name:      "123456789012_CloudTrail_us-gov-west-1_20240229T1200Z_x.json"},
		},
		{
			// Delivery folder and file name need not agree: the name is the delivery time.
			key:    "AWSLogs/123456789012/CloudTrail/cn-north-1/2024/01/02/123456789012_CloudTrail_cn-north-1_20240103T000000Z_q.json.gz",
			wantOK: true,
			want: Key{Account: "123456789012", Region: "cn-north-1", Date: "2024/01/02",
				Delivered: time.Date(2024, 1, 3, 0, 0, 0, 0, time.UTC),
				Name:      "123456789012_CloudTrail_cn-north-1_20240103T000000Z_q.json.gz"},
		},

		// Not event logs.
		{key: "AWSLogs/123456789012/CloudTrail-Digest/us-east-1/2024/01/02/123456789012_CloudTrail-Digest_us-east-1_trail_us-east-1_20240102T013500Z.json.gz"},
		{key: "AWSLogs/123456789012/CloudTrail-Digest/us-east-1/2024/01/02/123456789012_CloudTrail-Digest_us-east-1_trail_us-east-1_20240102T013500Z_backfill.json.gz"},
		{key: "AWSLogs/123456789012/CloudTrail/us-east-1/2024/01/02/123456789012_CloudTrail-Digest_us-east-1_20240102T0135Z_x.json.gz"},
		{key: "AWSLogs/123456789012/CloudTrail-Insight/us-east-1/2024/01/02/123456789012_CloudTrail-Insight_us-east-1_20240102T0135Z_x.json.gz"},
		{key: "AWSLogs/123456789012/elasticloadbalancing/us-east-1/2024/01/02/123456789012_elasticloadbalancing_us-east-1_app.lb.abc_20240102T0135Z_10.0.0.1_x.log.gz"},
		{key: "AWSLogs/123456789012/vpcflowlogs/us-east-1/2024/01/02/123456789012_vpcflowlogs_us-east-1_fl-0abc_20240102T0135Z_x.log.gz"},
		{key: "AWSLogs/123456789012/Config/us-east-1/2024/1/2/ConfigHistory/123456789012_Config_us-east-1_ConfigHistory_AWS::S3::Bucket_20240102T013500Z_20240102T013500Z_1.json.gz"},
		{key: "s3-access/2024-01-02-01-35-12-0123456789ABCDEF"},
		{key: "AWSLogs/123456789012/CloudTrail/us-east-1/2024/01/02/"},
		{key: "AWSLogs/123456789012/CloudTrail/us-east-1/2024/01/02"},
		{key: "AWSLogs/123456789012/CloudTrail/us-east-1/"},
		{key: "AWSLogs/"},
		{key: ""},
		{key: "AWSLogs/123456789012/CloudTrail/us-east-1/2024/01/02/123456789012_CloudTrail_us-east-1_20240102T0135Z_x.json.gz.tmp"},
		{key: "AWSLogs/123456789012/CloudTrail/us-east-1/2024/01/02/123456789012_CloudTrail_us-east-1_20240102T0135Z_x.txt"},
		{key: "AWSLogs/123456789012/CloudTrail/us-east-1/2024/01/02/README.md"},
		// Account or region of the name differ from the folders'.
		{key: "AWSLogs/123456789012/CloudTrail/us-east-1/2024/01/02/999999999999_CloudTrail_us-east-1_20240102T0135Z_x.json.gz"},
		{key: "AWSLogs/123456789012/CloudTrail/us-east-1/2024/01/02/123456789012_CloudTrail_us-west-2_20240102T0135Z_x.json.gz"},
		// Malformed folders or times.
		{key: "AWSLogs/12345678901/CloudTrail/us-east-1/2024/01/02/12345678901_CloudTrail_us-east-1_20240102T0135Z_x.json.gz"},
		{key: "AWSLogs/123456789012/CloudTrail/us-east-1/2024/1/2/123456789012_CloudTrail_us-east-1_20240102T0135Z_x.json.gz"},
		{key: "AWSLogs/123456789012/CloudTrail/us-east-1/2023/02/29/123456789012_CloudTrail_us-east-1_20230228T0135Z_x.json.gz"},
		{key: "AWSLogs/123456789012/CloudTrail/us-east-1/2024/01/02/123456789012_CloudTrail_us-east-1_20241302T0135Z_x.json.gz"},
		{key: "AWSLogs/123456789012/CloudTrail/us-east-1/2024/01/02/123456789012_CloudTrail_us-east-1_20240102T2535Z_x.json.gz"},
		{key: "AWSLogs/123456789012/CloudTrail/us-east-1/2024/01/02/123456789012_CloudTrail_us-east-1_20240102T013Z_x.json.gz"},
		{key: "Logs/123456789012/CloudTrail/us-east-1/2024/01/02/123456789012_CloudTrail_us-east-1_20240102T0135Z_x.json.gz"},
		{key: "AWSLogs/O-ABCD/123456789012/CloudTrail/us-east-1/2024/01/02/123456789012_CloudTrail_us-east-1_20240102T0135Z_x.json.gz"},
		{key: "AWSLogs/o-abcd/o-efgh/123456789012/CloudTrail/us-east-1/2024/01/02/123456789012_CloudTrail_us-east-1_20240102T0135Z_x.json.gz"},
		{key: "AWSLogs/123456789012/CloudTrail/US-EAST-1/2024/01/02/123456789012_CloudTrail_US-EAST-1_20240102T0135Z_x.json.gz"},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			got, ok := ParseKey(tt.key)
			if ok != tt.wantOK {
				t.Fatalf("ParseKey(%q) ok = %v, want %v (%+v)", tt.key, ok, tt.wantOK, got)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseKey(%q) (-want +got):\n%s", tt.key, diff)
			}
			if ok && got.String() != tt.key {
				t.Errorf("Key.String() = %q, want %q", got.String(), tt.key)
			}
		})
	}
}

// TestParseKeyGenerated parses every combination of the layout's variants,
// each as an event log and as each kind of sibling file.
func TestParseKeyGenerated(t *testing.T) {
	prefixes := []string{"", "logs/", "a/b/c/", "AWSLogs/", "bucket-prefix/AWSLogs/x/", "2024/01/02/"}
	orgs := []string{"", "o-abcd", "o-a1b2c3d4e5", "o-0123456789abcdefghijklmnopqrstu"}
	accounts := []string{"123456789012", "000000000000", "811596193553"}
	regions := []string{"us-east-1", "ap-southeast-1", "us-gov-west-1", "cn-northwest-1", "eu-central-2", "il-central-1"}
	times := []time.Time{
		time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC),
		time.Date(2024, 2, 29, 23, 59, 0, 0, time.UTC),
		time.Date(2020, 9, 30, 12, 5, 0, 0, time.UTC),
	}
	names := []func(acct, region string, t time.Time) string{
		func(a, r string, t time.Time) string {
			return a + "_CloudTrail_" + r + "_" + t.Format("20060102T1504Z") + "_AbCdEfGh12345678.json.gz"
		},
		func(a, r string, t time.Time) string {
			return a + "_CloudTrail_" + r + "_" + t.Format("20060102T1504Z") + ".json.gz"
		},
		func(a, r string, t time.Time) string {
			return a + "_CloudTrail_" + r + "_" + t.Format("20060102T1504") + "_x.json"
		},
		func(a, r string, t time.Time) string {
			return a + "_CloudTrail_" + r + "-" + t.Format("20060102T1504") + ".json"
		},
		func(a, r string, t time.Time) string {
			return a + "_CloudTrail_" + r + "-" + t.Format("20060102T1504Z") + "_u.json.gz"
		},
	}
	type sibling struct {
		folder string
		name   func(acct, region string, t time.Time) string
	}
	siblings := []sibling{
		{"CloudTrail-Digest", func(a, r string, t time.Time) string {
			return a + "_CloudTrail-Digest_" + r + "_trail_" + r + "_" + t.Format("20060102T150405Z") + ".json.gz"
		}},
		{"CloudTrail-Insight", func(a, r string, t time.Time) string {
			return a + "_CloudTrail-Insight_" + r + "_" + t.Format("20060102T1504Z") + "_x.json.gz"
		}},
		{"elasticloadbalancing", func(a, r string, t time.Time) string {
			return a + "_elasticloadbalancing_" + r + "_app.my-lb.50dc6c495c0c9188_" + t.Format("20060102T1504Z") + "_10.0.0.1_x.log.gz"
		}},
		{"vpcflowlogs", func(a, r string, t time.Time) string {
			return a + "_vpcflowlogs_" + r + "_fl-1234abcd_" + t.Format("20060102T1504Z") + "_x.log.gz"
		}},
		// A digest named like a log but in the digest folder.
		{"CloudTrail-Digest", func(a, r string, t time.Time) string {
			return a + "_CloudTrail_" + r + "_" + t.Format("20060102T1504Z") + "_x.json.gz"
		}},
		// A log's folder holding something else.
		{"CloudTrail", func(a, r string, t time.Time) string {
			return a + "_CloudTrail-Digest_" + r + "_" + t.Format("20060102T1504Z") + "_x.json.gz"
		}},
		{"CloudTrail", func(a, r string, t time.Time) string {
			return a + "_CloudTrail_" + r + "_" + t.Format("20060102T1504Z") + "_x.json.gz.partial"
		}},
	}
	var logs, others int
	for _, p := range prefixes {
		for _, org := range orgs {
			for _, a := range accounts {
				for _, r := range regions {
					for _, tm := range times {
						day := tm.Format("2006/01/02")
						for _, name := range names {
							key := DatePrefix(p, org, a, r, day) + name(a, r, tm)
							want := Key{Prefix: p, OrgID: org, Account: a, Region: r, Date: day, Delivered: tm, Name: name(a, r, tm)}
							got, ok := ParseKey(key)
							if !ok {
								t.Errorf("ParseKey(%q) = false, want an event log", key)
								continue
							}
							if diff := cmp.Diff(want, got); diff != "" {
								t.Errorf("ParseKey(%q) (-want +got):\n%s", key, diff)
							}
							logs++
						}
						for _, s := range siblings {
							base := LogsPrefix(p)
							if org != "" {
								base += org + "/"
							}
							key := base + a + "/" + s.folder + "/" + r + "/" + day + "/" + s.name(a, r, tm)
							if got, ok := ParseKey(key); ok {
								t.Errorf("ParseKey(%q) = %+v, want not an event log", key, got)
							}
							others++
						}
					}
				}
			}
		}
	}
	if logs < 1000 || others < 1000 {
		t.Errorf("generated %d logs and %d others, want at least 1000 each", logs, others)
	}
}

// TestParseKeyTestdata parses the shared sample trail.
func TestParseKeyTestdata(t *testing.T) {
	root := filepath.Join("..", "..", "..", "shared", "testdata", "cloudtrail", "layout")
	if _, err := os.Stat(root); err != nil {
		t.Skipf("no shared test data: %v", err)
	}
	var got []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}
		if k, ok := ParseKey(filepath.ToSlash(rel)); ok {
			got = append(got, k.Region+" "+k.Date+" "+k.Delivered.Format(time.RFC3339))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"ap-southeast-1 2020/09/30 2020-09-30T23:58:00Z",
		"us-east-1 2020/09/30 2020-09-30T22:00:00Z",
		"us-east-1 2020/09/30 2020-09-30T23:00:00Z",
		"us-east-1 2020/10/01 2020-10-01T00:00:00Z",
		"us-east-1 2020/10/01 2020-10-01T00:03:00Z",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("event logs of the sample layout (-want +got):\n%s", diff)
	}
}

func TestPrefixes(t *testing.T) {
	tests := []struct {
		name string
		got  string
		want string
	}{
		{"logs at bucket root", LogsPrefix(""), "AWSLogs/"},
		{"logs under prefix", LogsPrefix("trails"), "trails/AWSLogs/"},
		{"logs under prefix with slash", LogsPrefix("trails/"), "trails/AWSLogs/"},
		{"account", AccountPrefix("", "", "123456789012"), "AWSLogs/123456789012/"},
		{"org account", AccountPrefix("p/", "o-abcd", "123456789012"), "p/AWSLogs/o-abcd/123456789012/"},
		{"org without o-", AccountPrefix("", "abcd", "123456789012"), "AWSLogs/o-abcd/123456789012/"},
		{"regions", RegionsPrefix("", "o-abcd", "123456789012"), "AWSLogs/o-abcd/123456789012/CloudTrail/"},
		{"region", RegionPrefix("", "", "123456789012", "eu-west-1"), "AWSLogs/123456789012/CloudTrail/eu-west-1/"},
		{"date", DatePrefix("x/y", "o-abcd", "123456789012", "eu-west-1", "2024/01/02"), "x/y/AWSLogs/o-abcd/123456789012/CloudTrail/eu-west-1/2024/01/02/"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.name, tt.got, tt.want)
		}
	}
}

func TestIs(t *testing.T) {
	for _, tt := range []struct {
		f    func(string) bool
		name string
		in   string
		want bool
	}{
		{IsAccount, "IsAccount", "123456789012", true},
		{IsAccount, "IsAccount", "12345678901", false},
		{IsAccount, "IsAccount", "1234567890123", false},
		{IsAccount, "IsAccount", "12345678901a", false},
		{IsOrgID, "IsOrgID", "o-abcd", true},
		{IsOrgID, "IsOrgID", "o-a1b2c3d4e5", true},
		{IsOrgID, "IsOrgID", "o-", false},
		{IsOrgID, "IsOrgID", "abcd", false},
		{IsOrgID, "IsOrgID", "o-ABCD", false},
		{IsRegion, "IsRegion", "us-east-1", true},
		{IsRegion, "IsRegion", "us-gov-west-1", true},
		{IsRegion, "IsRegion", "2024", false},
		{IsRegion, "IsRegion", "CloudTrail", false},
	} {
		if got := tt.f(tt.in); got != tt.want {
			t.Errorf("%s(%q) = %v, want %v", tt.name, tt.in, got, tt.want)
		}
	}
}

// FuzzParseKey checks that whatever ParseKey accepts it can rebuild, and
// that it never accepts a key without the layout's markers.
func FuzzParseKey(f *testing.F) {
	for _, s := range []string{
		"AWSLogs/123456789012/CloudTrail/us-east-1/2024/01/02/123456789012_CloudTrail_us-east-1_20240102T0135Z_AbCdEf0123456789.json.gz",
		"p/AWSLogs/o-abcd/811596193553/CloudTrail/us-east-1/2020/09/30/811596193553_CloudTrail_us-east-1-20200930T2300.json",
		"AWSLogs/123456789012/CloudTrail-Digest/us-east-1/2024/01/02/123456789012_CloudTrail-Digest_us-east-1_t_us-east-1_20240102T013500Z.json.gz",
		"",
		"AWSLogs//CloudTrail//////",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, key string) {
		k, ok := ParseKey(key)
		if !ok {
			return
		}
		if k.String() != key {
			t.Errorf("ParseKey(%q).String() = %q", key, k.String())
		}
		if !strings.Contains(key, "/CloudTrail/") || !strings.Contains(k.Name, "_CloudTrail_") {
			t.Errorf("ParseKey(%q) accepted a key without /CloudTrail/ and _CloudTrail_", key)
		}
		if !strings.HasSuffix(key, ".json") && !strings.HasSuffix(key, ".json.gz") {
			t.Errorf("ParseKey(%q) accepted a key without .json[.gz]", key)
		}
		if k.Delivered.Location() != time.UTC {
			t.Errorf("Delivered not in UTC: %v", k.Delivered)
		}
	})
}
