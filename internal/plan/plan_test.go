package plan

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"github.com/parquetrail/parquetrail/internal/corpus"
	"io"
	"path"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/parquetrail/parquetrail/internal/store"
	"github.com/parquetrail/parquetrail/internal/store/s3test"
	"github.com/parquetrail/parquetrail/internal/trail"
	"github.com/parquetrail/parquetrail/internal/window"
)

func tctx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// layoutStore is the corpus's sample trail (an Organization trail, one
// account, two regions, two UTC days).
func layoutStore(t *testing.T) store.Store {
	root := corpus.Path("layout")
	st, err := store.Open(context.Background(), root, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// names returns the file names of each shard's objects.
func names(p *Plan) [][]string {
	out := [][]string{}
	for _, s := range p.Shards {
		var n []string
		for _, o := range s.Objects {
			n = append(n, path.Base(o.Key))
		}
		out = append(out, n)
	}
	return out
}

const (
	fA = "811596193553_CloudTrail_us-east-1-20200930T2200.json" // 91000 bytes
	fB = "811596193553_CloudTrail_us-east-1-20200930T2300.json" // 146908 bytes
	fC = "811596193553_CloudTrail_ap-southeast-1-20200930T2358.json"
	fD = "811596193553_CloudTrail_us-east-1-20201001T0000.json.gz"
	fE = "811596193553_CloudTrail_us-east-1-20201001T0003.json"
)

func TestMakeLayout(t *testing.T) {
	src := layoutStore(t)
	const all = 91000 + 146908 + 23 + 979 + 1045
	tests := []struct {
		name       string
		date, zone string
		opts       Options
		wantCounts Counts
		wantShards [][]string
	}{
		{
			name: "utc day, default margin", date: "2020-09-30",
			wantCounts: Counts{Listed: 5, Selected: 5, SelectedBytes: all, Accounts: 1, Regions: 2, Prefixes: 4},
			wantShards: [][]string{{fA, fB, fC, fD, fE}},
		},
		{
			name: "utc day, one minute margin", date: "2020-09-30", opts: Options{LateArrival: time.Minute},
			wantCounts: Counts{Listed: 5, Selected: 4, SkippedLate: 1, SelectedBytes: all - 1045, Accounts: 1, Regions: 2, Prefixes: 4},
			wantShards: [][]string{{fA, fB, fC, fD}},
		},
		{
			name: "next utc day", date: "2020-10-01",
			wantCounts: Counts{Listed: 2, Selected: 2, SelectedBytes: 979 + 1045, Accounts: 1, Regions: 2, Prefixes: 4},
			wantShards: [][]string{{fD, fE}},
		},
		{
			name: "seoul day spans both folders", date: "2020-10-01", zone: "Asia/Seoul",
			wantCounts: Counts{Listed: 5, Selected: 5, SelectedBytes: all, Accounts: 1, Regions: 2, Prefixes: 4},
			wantShards: [][]string{{fA, fB, fC, fD, fE}},
		},
		{
			name: "pago pago day starts after every delivery", date: "2020-10-01", zone: "Pacific/Pago_Pago",
			wantCounts: Counts{Listed: 2, SkippedEarly: 2, Accounts: 1, Regions: 2, Prefixes: 4},
			wantShards: [][]string{},
		},
		{
			name: "kiritimati day ends before every delivery", date: "2020-09-30", zone: "Pacific/Kiritimati",
			wantCounts: Counts{Listed: 3, SkippedLate: 3, Accounts: 1, Regions: 2, Prefixes: 4},
			wantShards: [][]string{},
		},
		{
			name: "day without files", date: "2019-01-01",
			wantCounts: Counts{Accounts: 1, Regions: 2, Prefixes: 4},
			wantShards: [][]string{},
		},
		{
			name: "explicit org, account and region", date: "2020-09-30",
			opts:       Options{OrgID: "abcd", Accounts: []string{"811596193553"}, Regions: []string{"us-east-1"}},
			wantCounts: Counts{Listed: 4, Selected: 4, SelectedBytes: all - 23, Accounts: 1, Regions: 1, Prefixes: 2},
			wantShards: [][]string{{fA, fB, fD, fE}},
		},
		{
			name: "account that has no files", date: "2020-09-30",
			opts:       Options{Accounts: []string{"999999999999"}},
			wantCounts: Counts{Accounts: 0, Regions: 0, Prefixes: 0},
			wantShards: [][]string{},
		},
		{
			name: "small target: big files alone", date: "2020-09-30", opts: Options{TargetShardBytes: 100000},
			wantCounts: Counts{Listed: 5, Selected: 5, SelectedBytes: all, Accounts: 1, Regions: 2, Prefixes: 4},
			wantShards: [][]string{{fA}, {fB}, {fC, fD, fE}},
		},
		{
			name: "shard limit raises the target", date: "2020-09-30", opts: Options{TargetShardBytes: 100000, MaxShards: 2},
			wantCounts: Counts{Listed: 5, Selected: 5, SelectedBytes: all, Accounts: 1, Regions: 2, Prefixes: 4},
			wantShards: [][]string{{fA}, {fB, fC, fD, fE}},
		},
		{
			name: "one shard", date: "2020-09-30", opts: Options{TargetShardBytes: 1, MaxShards: 1},
			wantCounts: Counts{Listed: 5, Selected: 5, SelectedBytes: all, Accounts: 1, Regions: 2, Prefixes: 4},
			wantShards: [][]string{{fA, fB, fC, fD, fE}},
		},
		{
			name: "tiny target: a shard per file", date: "2020-09-30", opts: Options{TargetShardBytes: 1},
			wantCounts: Counts{Listed: 5, Selected: 5, SelectedBytes: all, Accounts: 1, Regions: 2, Prefixes: 4},
			wantShards: [][]string{{fA}, {fB}, {fC}, {fD}, {fE}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := tt.opts
			opts.Source = src
			opts.Day = window.MustNew(tt.date, tt.zone)
			p, err := Make(tctx(t), opts)
			if err != nil {
				t.Fatalf("Make: %v", err)
			}
			if diff := cmp.Diff(tt.wantCounts, p.Counts); diff != "" {
				t.Errorf("Counts (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantShards, names(p)); diff != "" {
				t.Errorf("shards (-want +got):\n%s", diff)
			}
			target := opts.TargetShardBytes
			if opts.MaxShards > 0 {
				target = 0 // raised
			}
			checkShards(t, p, target)
			day, err := p.Day()
			if err != nil {
				t.Fatal(err)
			}
			if p.Version != 1 || p.Date != tt.date || !day.Start.Equal(opts.Day.Start) || !day.End.Equal(opts.Day.End) {
				t.Errorf("plan header = %d %s [%v, %v)", p.Version, p.Date, day.Start, day.End)
			}
			if want := opts.Day.ZoneName(); p.TimeZone != want {
				t.Errorf("TimeZone = %q, want %q", p.TimeZone, want)
			}
		})
	}
}

// checkShards checks what every plan must satisfy.
func checkShards(t *testing.T, p *Plan, target int64) {
	t.Helper()
	if p.Shards == nil {
		t.Error("Shards is nil, want an empty list")
	}
	seen := map[string]bool{}
	var bytes int64
	for i, s := range p.Shards {
		if s.Index != i {
			t.Errorf("shard %d has Index %d", i, s.Index)
		}
		if len(s.Objects) == 0 {
			t.Errorf("shard %d is empty", i)
		}
		var b int64
		for _, o := range s.Objects {
			if seen[o.Key] {
				t.Errorf("%s is in two shards", o.Key)
			}
			seen[o.Key] = true
			b += o.Size
		}
		if b != s.Bytes {
			t.Errorf("shard %d: Bytes = %d, objects sum to %d", i, s.Bytes, b)
		}
		if p.Counts.Selected > 0 && target > 0 && b > target && len(s.Objects) > 1 && len(p.Shards) > 1 {
			t.Errorf("shard %d holds %d bytes in %d objects, more than the target %d", i, b, len(s.Objects), target)
		}
		bytes += b
	}
	if int64(len(seen)) != p.Counts.Selected || bytes != p.Counts.SelectedBytes {
		t.Errorf("shards hold %d objects of %d bytes, Counts say %d of %d", len(seen), bytes, p.Counts.Selected, p.Counts.SelectedBytes)
	}
}

// orgTrail is an Organization trail in a bucket, under a key prefix, with
// the siblings a real bucket has.
type orgTrail struct {
	objects map[string][]byte // bucket key -> body
	day     window.Day
	// expected, for the day and a one-hour margin
	selected []string // store keys, in delivery order
	counts   Counts
}

const (
	orgBucket = "org-trail"
	orgPrefix = "trails/cloudtrail/"
	orgID     = "o-a1b2c3d4e5"
)

var (
	orgAccounts = []string{"111122223333", "444455556666"}
	orgRegions  = []string{"ap-northeast-2", "eu-west-1", "us-east-1"}
	orgFolders  = []string{"2024/01/01", "2024/01/02", "2024/01/03"}
)

func newOrgTrail() *orgTrail {
	o := &orgTrail{objects: map[string][]byte{}, day: window.MustNew("2024-01-02", "Asia/Seoul")}
	start := o.day.Start               // 2024-01-01T15:00Z
	cutoff := o.day.End.Add(time.Hour) // 2024-01-02T16:00Z
	listedFolders := orgFolders[:2]    // the UTC dates of start and cutoff
	type sel struct {
		key string
		at  time.Time
	}
	var sels []sel
	n := 0
	body := func() []byte {
		n++
		return []byte(strings.Repeat("x", 100+(n*37)%900))
	}
	for _, acct := range orgAccounts {
		for _, region := range orgRegions {
			for _, folder := range orgFolders {
				day, _ := time.Parse("2006/01/02", folder)
				listed := slices.Contains(listedFolders, folder)
				dir := trail.DatePrefix(orgPrefix, orgID, acct, region, folder)
				// One busy region delivers every minute (more than a
				// listing page), the others every ten minutes.
				step := 10 * time.Minute
				if acct == orgAccounts[0] && region == "us-east-1" && folder == "2024/01/02" {
					step = time.Minute
				}
				for at := day; at.Before(day.Add(24 * time.Hour)); at = at.Add(step) {
					name := fmt.Sprintf("%s_CloudTrail_%s_%sZ_%016x.json.gz", acct, region, at.Format("20060102T1504"), n)
					b := body()
					o.objects[dir+name] = b
					if !listed {
						continue
					}
					o.counts.Listed++
					switch {
					case at.Before(start):
						o.counts.SkippedEarly++
					case at.After(cutoff):
						o.counts.SkippedLate++
					default:
						o.counts.Selected++
						o.counts.SelectedBytes += int64(len(b))
						sels = append(sels, sel{strings.TrimPrefix(dir+name, orgPrefix), at})
					}
				}
				// Siblings: digests and Insights in folders of their own,
				// other services' logs, and odd files in the log folder.
				base := trail.AccountPrefix(orgPrefix, orgID, acct)
				for h := 0; h < 24; h++ {
					at := day.Add(time.Duration(h)*time.Hour + 17*time.Minute)
					o.objects[base+"CloudTrail-Digest/"+region+"/"+folder+"/"+
						fmt.Sprintf("%s_CloudTrail-Digest_%s_org-trail_us-east-1_%sZ.json.gz", acct, region, at.Format("20060102T150405"))] = []byte("{}")
				}
				o.objects[base+"CloudTrail-Insight/"+region+"/"+folder+"/"+
					fmt.Sprintf("%s_CloudTrail-Insight_%s_%sZ_abcdefabcdefabcd.json.gz", acct, region, day.Add(time.Hour).Format("20060102T1504"))] = []byte("{}")
				o.objects[base+"elasticloadbalancing/"+region+"/"+folder+"/"+
					fmt.Sprintf("%s_elasticloadbalancing_%s_app.lb.1_%sZ_10.0.0.1_x.log.gz", acct, region, day.Add(time.Hour).Format("20060102T1504"))] = []byte("log")
				odd := []string{"README.txt", acct + "_CloudTrail-Digest_" + region + "_" + day.Format("20060102T1504") + "Z_x.json.gz"}
				for _, name := range odd {
					o.objects[dir+name] = []byte("odd")
					if listed {
						o.counts.Listed++
						o.counts.NotLogs++
					}
				}
			}
		}
		o.objects[trail.AccountPrefix(orgPrefix, orgID, acct)+"CloudTrail/ConfigWritabilityCheckFile"] = nil
	}
	// Another trail in the same bucket, outside the source's prefix.
	o.objects["other/AWSLogs/999999999999/CloudTrail/us-east-1/2024/01/02/999999999999_CloudTrail_us-east-1_20240102T0000Z_a.json.gz"] = []byte("x")
	o.objects["trails/cloudtrail-old/AWSLogs/999999999999/CloudTrail/us-east-1/2024/01/02/999999999999_CloudTrail_us-east-1_20240102T0000Z_a.json.gz"] = []byte("x")
	// S3 server access logs at the bucket root.
	o.objects["2024-01-02-01-35-12-0123456789ABCDEF"] = []byte("access")

	slices.SortFunc(sels, func(a, b sel) int {
		if c := a.at.Compare(b.at); c != 0 {
			return c
		}
		return strings.Compare(a.key, b.key)
	})
	for _, s := range sels {
		o.selected = append(o.selected, s.key)
	}
	o.counts.Accounts, o.counts.Regions = len(orgAccounts), len(orgRegions)
	o.counts.Prefixes = len(orgAccounts) * len(orgRegions) * len(listedFolders)
	return o
}

func TestMakeOrganizationInS3(t *testing.T) {
	_, client := s3test.Start(t)
	tr := newOrgTrail()
	if len(tr.objects) < 4000 {
		t.Fatalf("generated %d objects, want a bucket of thousands", len(tr.objects))
	}
	s3test.CreateBucket(t, client, orgBucket)
	s3test.PutAll(t, client, orgBucket, tr.objects)
	src := store.NewS3(client, orgBucket, orgPrefix, store.Options{})
	dst := store.NewS3(client, orgBucket, "out/", store.Options{})

	const target = 64 << 10
	base := Options{Source: src, Day: tr.day, TargetShardBytes: target}
	variants := []struct {
		name   string
		change func(*Options)
	}{
		{"discovery", func(*Options) {}},
		{"discovery, one request at a time", func(o *Options) { o.ListConcurrency = 1 }},
		{"explicit organization", func(o *Options) { o.OrgID = orgID }},
		{"explicit everything", func(o *Options) {
			o.OrgID = orgID
			o.Accounts = []string{orgAccounts[1], orgAccounts[0], orgAccounts[1]}
			o.Regions = slices.Clone(orgRegions)
		}},
		{"explicit accounts and regions, organization discovered", func(o *Options) {
			o.Accounts = orgAccounts
			o.Regions = orgRegions
		}},
	}
	var first *Plan
	var firstSum string
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			opts := base
			v.change(&opts)
			p, err := Make(tctx(t), opts)
			if err != nil {
				t.Fatalf("Make: %v", err)
			}
			if diff := cmp.Diff(tr.counts, p.Counts); diff != "" {
				t.Errorf("Counts (-want +got):\n%s", diff)
			}
			var got []string
			for _, o := range p.Objects() {
				got = append(got, o.Key)
			}
			if diff := cmp.Diff(tr.selected, got); diff != "" {
				t.Errorf("selected objects in delivery order (-want +got):\n%s", diff)
			}
			checkShards(t, p, target)
			if len(p.Shards) < 10 {
				t.Errorf("%d shards, want many of %d bytes", len(p.Shards), target)
			}
			p.RunID = "20240103T010000Z-abcdef"
			sum, err := Write(tctx(t), dst, p)
			if err != nil {
				t.Fatal(err)
			}
			if first == nil {
				first, firstSum = p, sum
				return
			}
			if diff := cmp.Diff(first, p); diff != "" {
				t.Errorf("plan differs from discovery's (-discovery +%s):\n%s", v.name, diff)
			}
			if sum != firstSum {
				t.Errorf("plan checksum %s, discovery's %s", sum, firstSum)
			}
		})
	}

	t.Run("one account", func(t *testing.T) {
		opts := base
		opts.Accounts = []string{orgAccounts[1]}
		p, err := Make(tctx(t), opts)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range p.Objects() {
			if !strings.Contains(o.Key, "/"+orgAccounts[1]+"/") {
				t.Fatalf("%s is not of account %s", o.Key, orgAccounts[1])
			}
		}
		if p.Counts.Accounts != 1 || p.Counts.Selected == 0 || p.Counts.Selected >= tr.counts.Selected {
			t.Errorf("Counts = %+v", p.Counts)
		}
	})

	t.Run("shard limit", func(t *testing.T) {
		opts := base
		opts.MaxShards = 3
		p, err := Make(tctx(t), opts)
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Shards) != 3 {
			t.Errorf("%d shards, want 3", len(p.Shards))
		}
		checkShards(t, p, 0)
	})

	t.Run("source without AWSLogs", func(t *testing.T) {
		opts := base
		opts.Source = store.NewS3(client, orgBucket, "trails/", store.Options{})
		_, err := Make(tctx(t), opts)
		if err == nil || !strings.Contains(err.Error(), "s3://"+orgBucket+"/trails") || !strings.Contains(err.Error(), "AWSLogs/") {
			t.Errorf("Make = %v, want an error naming the source and AWSLogs/", err)
		}
	})
}

func TestMakeDirectAndOrganizationFolders(t *testing.T) {
	// One bucket with an account trail and an Organization trail side by side.
	dir := t.TempDir()
	st, err := store.Open(context.Background(), dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	keys := []string{
		trail.DatePrefix("", "", "123456789012", "us-east-1", "2024/01/02") + "123456789012_CloudTrail_us-east-1_20240102T0100Z_a.json.gz",
		trail.DatePrefix("", "o-abcd", "210987654321", "eu-west-1", "2024/01/02") + "210987654321_CloudTrail_eu-west-1_20240102T0200Z_b.json.gz",
		trail.DatePrefix("", "o-abcd", "210987654321", "eu-west-1", "2024/01/02") + "210987654321_CloudTrail_eu-west-1_20240102T0000Z_c.json.gz",
		"AWSLogs/not-an-account/CloudTrail/us-east-1/2024/01/02/x.json.gz",
	}
	for _, k := range keys {
		w, err := st.Create(tctx(t), k)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(k))
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
	p, err := Make(tctx(t), Options{Source: st, Day: window.MustNew("2024-01-02", "")})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{keys[2], keys[0], keys[1]}
	var got []string
	for _, o := range p.Objects() {
		got = append(got, o.Key)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("objects (-want +got):\n%s", diff)
	}
	if p.Counts.Accounts != 2 || p.Counts.Regions != 2 || p.Counts.Prefixes != 4 {
		t.Errorf("Counts = %+v, want 2 accounts, 2 regions, 4 prefixes", p.Counts)
	}
}

func TestMakeOptionErrors(t *testing.T) {
	src := layoutStore(t)
	day := window.MustNew("2020-09-30", "")
	tests := []struct {
		name string
		opts Options
		want string
	}{
		{"no source", Options{Day: day}, "no source"},
		{"no day", Options{Source: src}, "no day window"},
		{"bad account", Options{Source: src, Day: day, Accounts: []string{"12345"}}, `"12345" is not an AWS account ID`},
		{"bad region", Options{Source: src, Day: day, Regions: []string{"US_EAST"}}, `"US_EAST" is not an AWS region`},
		{"bad org", Options{Source: src, Day: day, OrgID: "o-ABC"}, `"o-ABC" is not an Organization ID`},
		{"negative margin", Options{Source: src, Day: day, LateArrival: -time.Hour}, "negative late-arrival"},
		{"negative target", Options{Source: src, Day: day, TargetShardBytes: -1}, "negative target"},
		{"negative limit", Options{Source: src, Day: day, MaxShards: -1}, "negative shard limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Make(tctx(t), tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Make = %v, want an error with %q", err, tt.want)
			}
		})
	}
}

func TestMakeCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Make(ctx, Options{Source: layoutStore(t), Day: window.MustNew("2020-09-30", "")})
	if err == nil {
		t.Error("Make with a cancelled context succeeded")
	}
}

func objs(sizes ...int64) []listed {
	var out []listed
	for i, s := range sizes {
		out = append(out, listed{Object: store.Object{Key: fmt.Sprintf("k%02d", i), Size: s}})
	}
	return out
}

func TestPack(t *testing.T) {
	tests := []struct {
		name   string
		sizes  []int64
		target int64
		max    int
		want   [][]int64
	}{
		{"nothing", nil, 10, 0, [][]int64{}},
		{"one", []int64{3}, 10, 0, [][]int64{{3}}},
		{"fits exactly", []int64{4, 6, 5, 5}, 10, 0, [][]int64{{4, 6}, {5, 5}}},
		{"next fit", []int64{4, 4, 4, 4, 4}, 10, 0, [][]int64{{4, 4}, {4, 4}, {4}}},
		{"huge first", []int64{50, 1, 1}, 10, 0, [][]int64{{50}, {1, 1}}},
		{"huge in the middle", []int64{1, 50, 1}, 10, 0, [][]int64{{1}, {50}, {1}}},
		{"huge last", []int64{1, 1, 50}, 10, 0, [][]int64{{1, 1}, {50}}},
		{"two huge", []int64{50, 60}, 10, 0, [][]int64{{50}, {60}}},
		{"empty objects", []int64{0, 0, 10, 0}, 10, 0, [][]int64{{0, 0, 10, 0}}},
		{"limit raises target", []int64{4, 4, 4, 4, 4}, 10, 2, [][]int64{{4, 4, 4}, {4, 4}}},
		{"limit of one", []int64{4, 4, 4, 4, 4}, 10, 1, [][]int64{{4, 4, 4, 4, 4}}},
		{"limit not reached", []int64{4, 4}, 10, 5, [][]int64{{4, 4}}},
		// The smallest target for two shards is 51.
		{"limit with huge", []int64{1, 50, 1, 1}, 10, 2, [][]int64{{1, 50}, {1, 1}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := objs(tt.sizes...)
			target := tt.target
			if tt.max > 0 {
				target = targetFor(in, target, tt.max)
			}
			shards := pack(in, target)
			got := [][]int64{}
			for i, s := range shards {
				var sizes []int64
				var sum int64
				for _, o := range s.Objects {
					sizes = append(sizes, o.Size)
					sum += o.Size
				}
				if s.Index != i || s.Bytes != sum {
					t.Errorf("shard %d: Index %d, Bytes %d (sum %d)", i, s.Index, s.Bytes, sum)
				}
				got = append(got, sizes)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("pack (-want +got):\n%s", diff)
			}
			if n := count(in, target); n != len(shards) {
				t.Errorf("count = %d, pack made %d", n, len(shards))
			}
		})
	}
}

func TestWriteRead(t *testing.T) {
	p, err := Make(tctx(t), Options{Source: layoutStore(t), Day: window.MustNew("2020-10-01", "Asia/Seoul"), TargetShardBytes: 100000})
	if err != nil {
		t.Fatal(err)
	}
	p.RunID = NewRunID(time.Date(2020, 10, 2, 1, 0, 0, 0, time.UTC))
	p.Destination = "s3://out/cloudtrail"
	p.Columns, p.LocalTimeColumn, p.OnMalformed, p.Deduplicate, p.Compression = "seed", "eventtime_kst", "report", true, "zstd"

	_, client := s3test.Start(t)
	s3test.CreateBucket(t, client, "plans")
	local, err := store.Open(context.Background(), t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range []store.Store{local, store.NewS3(client, "plans", "x/", store.Options{})} {
		t.Run(st.URL(), func(t *testing.T) {
			sum, err := Write(tctx(t), st, p)
			if err != nil {
				t.Fatal(err)
			}
			key := PlanKey("20201001", p.RunID)
			if p.Key() != key {
				t.Errorf("Key() = %q, want %q", p.Key(), key)
			}
			got, gotSum, err := Read(tctx(t), st, key)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(p, got); diff != "" {
				t.Errorf("read back (-want +got):\n%s", diff)
			}
			if gotSum != sum {
				t.Errorf("Read checksum %s, Write's %s", gotSum, sum)
			}
			r, err := st.Open(tctx(t), key)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(r)
			r.Close()
			if h := sha256.Sum256(b); hex.EncodeToString(h[:]) != sum {
				t.Errorf("checksum %s is not the SHA-256 of the stored bytes", sum)
			}
			if _, _, err := Read(tctx(t), st, PlanKey("20201001", "missing")); !store.IsNotExist(err) {
				t.Errorf("Read of a missing plan: %v, want a not-exist error", err)
			}
		})
	}

	t.Run("empty plan", func(t *testing.T) {
		e, err := Make(tctx(t), Options{Source: layoutStore(t), Day: window.MustNew("2019-01-01", "")})
		if err != nil {
			t.Fatal(err)
		}
		e.RunID = "r"
		if _, err := Write(tctx(t), local, e); err != nil {
			t.Fatal(err)
		}
		got, _, err := Read(tctx(t), local, e.Key())
		if err != nil {
			t.Fatal(err)
		}
		if got.Shards == nil || len(got.Shards) != 0 {
			t.Errorf("Shards = %#v, want an empty list", got.Shards)
		}
	})

	t.Run("refused", func(t *testing.T) {
		q := *p
		q.RunID = ""
		if _, err := Write(tctx(t), local, &q); err == nil {
			t.Error("Write without a run ID succeeded")
		}
		for name, body := range map[string]string{
			"version": `{"version":2,"date":"2020-10-01"}`,
			"json":    `{"version":1,`,
			"index":   `{"version":1,"shards":[{"index":1}]}`,
		} {
			w, _ := local.Create(tctx(t), "bad/"+name)
			w.Write([]byte(body))
			w.Close()
			if _, _, err := Read(tctx(t), local, "bad/"+name); err == nil || !strings.Contains(err.Error(), "bad/"+name) {
				t.Errorf("Read of a bad plan (%s) = %v, want an error naming it", name, err)
			}
		}
	})
}

func TestNewRunID(t *testing.T) {
	re := regexp.MustCompile(`^20261125T114500Z-[0-9a-f]{6}$`)
	now := time.Date(2026, 11, 25, 20, 45, 0, 0, time.FixedZone("KST", 9*3600))
	seen := map[string]bool{}
	for range 1000 {
		id := NewRunID(now)
		if !re.MatchString(id) {
			t.Fatalf("NewRunID = %q, want the form 20261125T114500Z-abcdef", id)
		}
		seen[id] = true
	}
	if len(seen) < 990 {
		t.Errorf("%d distinct IDs of 1000", len(seen))
	}
	if a, b := NewRunID(now), NewRunID(now.Add(time.Second)); a >= b {
		t.Errorf("run IDs do not sort by time: %s >= %s", a, b)
	}
}
