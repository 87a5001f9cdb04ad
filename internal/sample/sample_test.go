package sample

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/parquetrail/parquetrail/internal/digest"
	"github.com/parquetrail/parquetrail/internal/problem"
	"github.com/parquetrail/parquetrail/internal/trail"
)

// small is a day big enough to exercise every feature and quick to build.
func small() Options {
	o := Demo()
	o.Records = 4000
	o.Files = 60
	o.DuplicateRate = 0.01
	o.LateRate = 0.1
	return o
}

func generate(t *testing.T, o Options) (*Memory, Stats) {
	t.Helper()
	m := &Memory{}
	st, err := Generate(context.Background(), o, m)
	if err != nil {
		t.Fatal(err)
	}
	return m, st
}

func gunzip(data []byte) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	return io.ReadAll(zr)
}

// contentHash hashes every object's key and uncompressed content (the raw
// bytes of objects that are not gzip), so that it does not depend on the
// compressor's version.
func contentHash(t *testing.T, m *Memory) string {
	h := sha256.New()
	for _, k := range m.Keys() {
		data, _ := m.Get(k)
		plain, err := gunzip(data)
		if err != nil {
			plain = []byte("unreadable")
		}
		sum := sha256.Sum256(plain)
		fmt.Fprintf(h, "%s %x\n", k, sum)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func TestDeterministic(t *testing.T) {
	o := small()
	o.Parallelism = 1
	a, sa := generate(t, o)
	o.Parallelism = 3
	b, sb := generate(t, o)
	ka, kb := a.Keys(), b.Keys()
	if len(ka) != len(kb) {
		t.Fatalf("%d objects, then %d", len(ka), len(kb))
	}
	for i, k := range ka {
		if kb[i] != k {
			t.Fatalf("object %d: key %s, then %s", i, k, kb[i])
		}
		da, _ := a.Get(k)
		db, _ := b.Get(k)
		if !bytes.Equal(da, db) {
			t.Fatalf("%s: bytes differ between runs", k)
		}
	}
	ja, _ := json.Marshal(sa)
	jb, _ := json.Marshal(sb)
	if !bytes.Equal(ja, jb) {
		t.Fatalf("stats differ:\n%s\n%s", ja, jb)
	}

	o.Seed++
	c, _ := generate(t, o)
	if contentHash(t, c) == contentHash(t, a) {
		t.Fatal("another seed gave the same day")
	}
}

// goldenHash pins the output of small(). When a change to the generator
// changes it on purpose, update the hash here AND bump Version, so that
// cached days (hack/gen's stamp) are rebuilt.
const goldenHash = "eb22341d62a1b8b8f5e3d3c0c1e850d17f98ee0a3ea9b04556a5b02738550627"

func TestGolden(t *testing.T) {
	m, _ := generate(t, small())
	if got := contentHash(t, m); got != goldenHash {
		t.Errorf("content hash of small() = %s, want %s\n"+
			"If the output changed on purpose, update goldenHash and bump Version (now %q).", got, goldenHash, Version)
	}
}

type fileRecord struct {
	key       string
	delivered time.Time
	account   string
	region    string
	pos       int
	raw       json.RawMessage
}

// readDay reads every readable event-log file as a conversion would.
func readDay(t *testing.T, m *Memory, st Stats) (records []fileRecord, unreadable []problem.Problem, logFiles int) {
	t.Helper()
	for _, key := range m.Keys() {
		k, ok := trail.ParseKey(key)
		if !ok {
			continue
		}
		logFiles++
		data, _ := m.Get(key)
		plain, err := gunzip(data)
		if err != nil {
			unreadable = append(unreadable, problem.Problem{Object: key, Record: -1, Offset: -1, Kind: problem.KindUnreadable})
			continue
		}
		var doc struct {
			Records []json.RawMessage
		}
		if err := json.Unmarshal(plain, &doc); err != nil {
			unreadable = append(unreadable, problem.Problem{Object: key, Record: -1, Offset: -1, Kind: problem.KindInvalidJSON})
			continue
		}
		if !bytes.HasPrefix(plain, []byte(`{"Records":[`)) {
			t.Errorf("%s does not start as CloudTrail writes: %.40s", key, plain)
		}
		for i, r := range doc.Records {
			records = append(records, fileRecord{key, k.Delivered, k.Account, k.Region, i, r})
		}
	}
	return records, unreadable, logFiles
}

type recordHead struct {
	EventTime          *string `json:"eventTime"`
	EventID            string  `json:"eventID"`
	RecipientAccountID *string `json:"recipientAccountId"`
	AWSRegion          *string `json:"awsRegion"`
	ReadOnly           any     `json:"readOnly"`
}

func TestCountsAndWindow(t *testing.T) {
	o := small()
	m, st := generate(t, o)
	recs, unreadable, logFiles := readDay(t, m, st)
	if logFiles != st.LogFiles {
		t.Errorf("%d objects in the log layout, stats say %d", logFiles, st.LogFiles)
	}
	if int64(len(recs)) != st.Records {
		t.Errorf("%d records read, stats say %d", len(recs), st.Records)
	}
	if st.Records != st.Generated+st.Duplicates+st.Verbatim+st.Malformed {
		t.Errorf("records %d != generated %d + duplicates %d + verbatim %d + malformed %d",
			st.Records, st.Generated, st.Duplicates, st.Verbatim, st.Malformed)
	}
	if st.Generated != int64(o.Records) || st.Duplicates != int64(o.Records/100) || st.Verbatim < 900 {
		t.Errorf("generated %d, duplicates %d, verbatim %d", st.Generated, st.Duplicates, st.Verbatim)
	}

	var malformed []problem.Problem
	var in, out, inDup, noID, inLate int64
	seen := map[string]bool{}
	for _, r := range recs {
		var h recordHead
		if err := json.Unmarshal(r.raw, &h); err != nil {
			malformed = append(malformed, problem.Problem{Object: r.key, Record: r.pos, Offset: -1, Kind: problem.KindBadRecord})
			continue
		}
		if h.EventTime == nil {
			malformed = append(malformed, problem.Problem{Object: r.key, Record: r.pos, Offset: -1, Kind: problem.KindNoEventTime})
			continue
		}
		et, err := time.Parse(time.RFC3339, *h.EventTime)
		if err != nil {
			malformed = append(malformed, problem.Problem{Object: r.key, Record: r.pos, Offset: -1, Kind: problem.KindBadEventTime})
			continue
		}
		if et.Before(st.RangeStart) || !et.Before(st.RangeEnd) {
			t.Errorf("%s record %d: eventTime %s outside the delivery range [%s, %s)", r.key, r.pos, et, st.RangeStart, st.RangeEnd)
		}
		if et.After(r.delivered.Add(time.Minute)) {
			t.Errorf("%s record %d: eventTime %s after the file's delivery %s", r.key, r.pos, et, r.delivered)
		}
		if et.Before(st.WindowStart) || !et.Before(st.WindowEnd) {
			out++
			continue
		}
		in++
		if r.delivered.After(st.WindowEnd) {
			inLate++
		}
		switch {
		case h.EventID == "":
			noID++
		case seen[h.EventID]:
			inDup++
		default:
			seen[h.EventID] = true
		}
	}
	if in != st.InWindow || out != st.OutOfWindow || inDup != st.InWindowDuplicates || noID != st.InWindowWithoutEventID {
		t.Errorf("read in %d out %d dup %d noID %d; stats say %d %d %d %d",
			in, out, inDup, noID, st.InWindow, st.OutOfWindow, st.InWindowDuplicates, st.InWindowWithoutEventID)
	}
	if inLate != st.InWindowDeliveredLate || inLate == 0 {
		t.Errorf("%d in-window records delivered after the window, stats say %d", inLate, st.InWindowDeliveredLate)
	}
	if st.Rows != in-inDup || int64(len(recs)) != int64(len(malformed))+in+out {
		t.Errorf("rows %d, want %d", st.Rows, in-inDup)
	}
	got := append(malformed, unreadable...)
	if len(got) != len(st.Problems) {
		t.Fatalf("found %d problems %v, stats list %d %v", len(got), got, len(st.Problems), st.Problems)
	}
	for _, want := range st.Problems {
		found := false
		for _, p := range got {
			found = found || (p.Object == want.Object && p.Record == want.Record && p.Kind == want.Kind)
		}
		if !found {
			t.Errorf("documented problem not found: %v", want)
		}
	}
}

func TestLayout(t *testing.T) {
	o := small()
	o.Prefix = "trails/main"
	m, st := generate(t, o)
	accounts := map[string]bool{}
	for _, a := range o.Accounts {
		accounts[a] = true
	}
	regions := map[string]bool{}
	for _, r := range o.Regions {
		regions[r] = true
	}
	var logs, digests, other, late int
	lastWindowFolder := st.WindowEnd.Add(-time.Nanosecond).Format("2006/01/02")
	for _, key := range m.Keys() {
		if !strings.HasPrefix(key, "trails/main/AWSLogs/") {
			t.Errorf("%s: not under the prefix", key)
			continue
		}
		k, ok := trail.ParseKey(key)
		switch {
		case ok:
			logs++
			if k.Prefix != "trails/main/" || k.OrgID != o.OrgID || !accounts[k.Account] || !regions[k.Region] {
				t.Errorf("%s parses as %+v", key, k)
			}
			if k.Date != k.Delivered.Format("2006/01/02") {
				t.Errorf("%s: folder %s, delivered %s", key, k.Date, k.Delivered)
			}
			if !strings.HasSuffix(k.Name, ".json.gz") || len(strings.Split(strings.TrimSuffix(k.Name, ".json.gz"), "_")[4]) != 16 {
				t.Errorf("%s: name not as a trail writes it", key)
			}
			if k.Date > lastWindowFolder {
				late++
			}
		case strings.Contains(key, "/CloudTrail-Digest/"):
			digests++
			data, _ := m.Get(key)
			plain, err := gunzip(data)
			var d digest.Digest
			if err != nil || json.Unmarshal(plain, &d) != nil || d.S3Object != key {
				t.Errorf("%s: not a digest of itself", key)
			}
			for _, lf := range d.LogFiles {
				data, ok := m.Get(lf.S3Object)
				if !ok {
					t.Errorf("%s lists %s, which does not exist", key, lf.S3Object)
					continue
				}
				plain, _ := gunzip(data)
				if sum := sha256.Sum256(plain); hex.EncodeToString(sum[:]) != lf.HashValue {
					t.Errorf("%s: hash of %s differs", key, lf.S3Object)
				}
			}
		default:
			other++
			if !strings.Contains(key, "/CloudTrail-Insight/") && !strings.Contains(key, "/vpcflowlogs/") &&
				!strings.HasSuffix(key, "/Config/ConfigWritabilityCheckFile") {
				t.Errorf("%s: unexpected object", key)
			}
		}
	}
	if logs != st.LogFiles || digests != st.DigestFiles || other != st.OtherObjects || logs+digests+other != st.Objects {
		t.Errorf("found %d logs, %d digests, %d other; stats %+v", logs, digests, other, st)
	}
	if st.LateFiles == 0 || late == 0 {
		t.Errorf("no late file in the folder after the window's (%d late files)", st.LateFiles)
	}
	if !st.LastDelivery.After(st.WindowEnd) {
		t.Errorf("last delivery %s not after the window", st.LastDelivery)
	}
}

// Generated records (without the verbatim ones) belong to their file's
// account and region and vary where real logs vary.
func TestGeneratedRecords(t *testing.T) {
	o := small()
	o.Verbatim = false
	o.EdgeCases = false
	m, st := generate(t, o)
	recs, _, _ := readDay(t, m, st)
	ids := map[string]int{}
	var stringReadOnly, boolReadOnly int
	for _, r := range recs {
		var h recordHead
		if err := json.Unmarshal(r.raw, &h); err != nil {
			t.Fatalf("%s record %d: %v", r.key, r.pos, err)
		}
		if h.RecipientAccountID != nil && *h.RecipientAccountID != r.account {
			t.Errorf("%s record %d: recipientAccountId %s", r.key, r.pos, *h.RecipientAccountID)
		}
		if h.AWSRegion == nil || *h.AWSRegion != r.region {
			t.Errorf("%s record %d: awsRegion %v", r.key, r.pos, h.AWSRegion)
		}
		if len(h.EventID) != 36 {
			t.Errorf("%s record %d: eventID %q", r.key, r.pos, h.EventID)
		}
		ids[h.EventID]++
		switch h.ReadOnly.(type) {
		case string:
			stringReadOnly++
		case bool:
			boolReadOnly++
		}
	}
	dups := 0
	for _, n := range ids {
		dups += n - 1
	}
	if int64(dups) != st.Duplicates || len(ids) != o.Records {
		t.Errorf("%d distinct eventIDs, %d repeats; want %d and %d", len(ids), dups, o.Records, st.Duplicates)
	}
	if stringReadOnly == 0 || boolReadOnly < 10*stringReadOnly {
		t.Errorf("readOnly: %d strings, %d booleans", stringReadOnly, boolReadOnly)
	}
}

func TestDir(t *testing.T) {
	dir := t.TempDir()
	o := small()
	o.Records = 500
	o.Files = 12
	st, err := Generate(context.Background(), o, Dir(dir))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	err = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			n++
			if strings.HasPrefix(d.Name(), ".put-") {
				t.Errorf("temporary file left: %s", p)
			}
		}
		return err
	})
	if err != nil || n != st.Objects {
		t.Errorf("%d files (%v), stats say %d objects", n, err, st.Objects)
	}
	for _, bad := range []string{"", "/abs", "a/../b", "dir/", "a//b"} {
		if Dir(dir).Put(bad, nil) == nil {
			t.Errorf("Put(%q) accepted", bad)
		}
	}
}

func TestOptionsRefused(t *testing.T) {
	for name, mod := range map[string]func(*Options){
		"account":  func(o *Options) { o.Accounts = []string{"12345"} },
		"region":   func(o *Options) { o.Regions = []string{"US East"} },
		"org":      func(o *Options) { o.OrgID = "org-1" },
		"date":     func(o *Options) { o.Date = "2026-02-30" },
		"zone":     func(o *Options) { o.TimeZone = "Mars/Olympus" },
		"hours":    func(o *Options) { o.DeliveryHours = 200 },
		"records":  func(o *Options) { o.Records = -1 },
		"twice":    func(o *Options) { o.Regions = []string{"us-east-1", "us-east-1"} },
		"prefix":   func(o *Options) { o.Prefix = "/abs" },
		"noRecord": func(o *Options) { o.Date = "" },
	} {
		o := small()
		mod(&o)
		if _, err := Generate(context.Background(), o, &Memory{}); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestPresets(t *testing.T) {
	for _, name := range []string{"reference", "demo"} {
		o, err := Preset(name)
		if err != nil || o.Records == 0 || o.Date == "" {
			t.Errorf("%s: %+v %v", name, o, err)
		}
	}
	if _, err := Preset("huge"); err == nil {
		t.Error("unknown preset accepted")
	}
}

func TestLibrary(t *testing.T) {
	l, err := loadLibrary()
	if err != nil {
		t.Fatal(err)
	}
	if len(l.templates) < 900 || len(l.global) < 50 || len(l.insights) == 0 || len(l.verbatim) < 1000 {
		t.Errorf("%d templates (%d global), %d insights, %d verbatim", len(l.templates), len(l.global), len(l.insights), len(l.verbatim))
	}
}

func BenchmarkGenerate(b *testing.B) {
	o := Reference()
	o.Records = 50_000
	o.Files = 100
	for b.Loop() {
		st, err := Generate(context.Background(), o, discard{})
		if err != nil {
			b.Fatal(err)
		}
		b.SetBytes(st.JSONBytes)
	}
}

type discard struct{}

func (discard) Put(string, []byte) error { return nil }
