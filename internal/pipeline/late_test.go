package pipeline_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/parquetrail/parquetrail/internal/flatten"
	"github.com/parquetrail/parquetrail/internal/pipeline"
	"github.com/parquetrail/parquetrail/internal/plan"
	"github.com/parquetrail/parquetrail/internal/record"
	"github.com/parquetrail/parquetrail/internal/store"
	"github.com/parquetrail/parquetrail/internal/store/s3test"
	"github.com/parquetrail/parquetrail/internal/window"
)

// lateTrail is a trail over several days in which a share of each day's
// events is delivered 2 to 48 hours after the event, most of them after
// their own day's late-arrival margin, and some of those also on time (a
// redelivery).
type lateTrail struct {
	zone   string
	days   []window.Day
	margin time.Duration
	objs   map[string][]byte
	// want is the set of events of each day, by yyyyMMdd.
	want map[string][]string
	// lateBy counts, per day, the late events whose file that day's run is
	// the first to read and that no on-time copy delivers: what it writes
	// into the events' days.
	lateBy map[string]int64
	// types are the runs' (record.Typed when empty).
	types string
}

const (
	lateAccount = "111122223333"
	lateRegion  = "ap-northeast-2"
)

func makeLateTrail(t *testing.T, zone string, dates []string, eventDays int, margin time.Duration) *lateTrail {
	t.Helper()
	lt := &lateTrail{zone: zone, margin: margin, objs: map[string][]byte{}, want: map[string][]string{}, lateBy: map[string]int64{}}
	for _, d := range dates {
		lt.days = append(lt.days, window.MustNew(d, zone))
	}
	r := rand.New(rand.NewPCG(7, 12))
	type event struct {
		id string
		at time.Time
	}
	files := map[time.Time][]event{} // by delivery time (30-minute slots)
	slot := func(t time.Time) time.Time { return t.Truncate(30 * time.Minute).Add(30 * time.Minute) }
	n := 0
	// Events only on the first eventDays days: the later days' runs read
	// the late deliveries and have events of their own.
	for di, d := range lt.days {
		count := 300
		for i := 0; i < count; i++ {
			at := d.Start.Add(time.Duration(r.Int64N(int64(d.Length()/time.Second))) * time.Second)
			n++
			e := event{id: fmt.Sprintf("e%05d-%s", n, d.YMD()), at: at}
			lt.want[d.YMD()] = append(lt.want[d.YMD()], e.id+"|"+at.UTC().Format(time.RFC3339Nano))
			onTime := slot(at)
			if di >= eventDays || r.Float64() >= 0.2 {
				files[onTime] = append(files[onTime], e)
				continue
			}
			delivered := slot(at.Add(2*time.Hour + time.Duration(r.Int64N(int64(46*time.Hour)))))
			files[delivered] = append(files[delivered], e)
			redelivered := r.Float64() < 0.1
			if redelivered {
				files[onTime] = append(files[onTime], e)
			}
			if ok, _ := d.Selects(delivered, margin); !ok && !redelivered {
				lt.lateBy[flatten.FirstReader(delivered, d.Zone, margin).YMD()]++
			}
		}
	}
	for at, evs := range files {
		var b bytes.Buffer
		b.WriteString(`{"Records":[`)
		for i, e := range slices.Backward(evs) { // unordered, as CloudTrail writes them
			if i != len(evs)-1 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `{"eventVersion":"1.08","userIdentity":{"type":"IAMUser","accountId":"%s"},"eventTime":"%s","eventSource":"ec2.amazonaws.com","eventName":"DescribeInstances","awsRegion":"%s","eventID":"%s","readOnly":true,"recipientAccountId":"%s"}`,
				lateAccount, e.at.UTC().Format("2006-01-02T15:04:05Z"), lateRegion, e.id, lateAccount)
		}
		b.WriteString(`]}`)
		var gz bytes.Buffer
		zw := gzip.NewWriter(&gz)
		zw.Write(b.Bytes())
		zw.Close()
		key := fmt.Sprintf("AWSLogs/%s/CloudTrail/%s/%s/%s_CloudTrail_%s_%sZ_%s.json.gz", lateAccount, lateRegion,
			at.Format("2006/01/02"), lateAccount, lateRegion, at.Format("20060102T1504"), "x"+at.Format("150405"))
		lt.objs[key] = gz.Bytes()
	}
	for ymd := range lt.want {
		slices.Sort(lt.want[ymd])
	}
	return lt
}

func (lt *lateTrail) writeDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for k, b := range lt.objs {
		p := filepath.Join(dir, filepath.FromSlash(k))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// partition reads the events of a day's published files (Arrow's reader),
// checking that each file is ordered by eventtime.
func partition(t *testing.T, dst store.Store, ymd string) []string {
	t.Helper()
	m, rows := readDay(t, dst, ymd)
	var out []string
	var last time.Time
	for i, r := range rows {
		at, ok := r["eventtime"].(time.Time)
		if !ok { // the Spark types' text
			var err error
			if at, err = time.Parse(time.RFC3339, fmt.Sprint(r["eventtime"])); err != nil {
				t.Fatalf("%s: row %d: eventtime %v", ymd, i, r["eventtime"])
			}
		}
		if i > 0 && at.Before(last) && !fileStart(m.Files, i) {
			t.Errorf("%s: row %d (%s) is before the row ahead of it (%s)", ymd, i, at, last)
		}
		last = at
		out = append(out, fmt.Sprint(r["eventid"])+"|"+at.UTC().Format(time.RFC3339Nano))
	}
	slices.Sort(out)
	return out
}

// fileStart says whether row i is the first of one of the files.
func fileStart(files []plan.File, i int) bool {
	n := int64(0)
	for _, f := range files {
		if int64(i) == n {
			return true
		}
		n += f.Rows
	}
	return false
}

func (lt *lateTrail) runAll(t *testing.T, src, dst string, opts pipeline.Stores) map[string]*plan.Report {
	t.Helper()
	out := map[string]*plan.Report{}
	for _, d := range lt.days {
		s, err := pipeline.Run(context.Background(), pipeline.Config{
			Source: src, Destination: dst, Stores: opts, Date: d.Date, TimeZone: lt.zone, Types: lt.types,
			Columns: record.Seed, LocalTimeColumn: "eventtime_kst", Deduplicate: true,
			LateArrival: lt.margin, TargetShardBytes: 8 << 10, Workers: 2,
		})
		if err != nil {
			t.Fatalf("run %s: %v", d.Date, err)
		}
		out[d.YMD()] = s
	}
	return out
}

// check compares every partition with the events of its day.
func (lt *lateTrail) check(t *testing.T, dst store.Store) {
	t.Helper()
	for _, d := range lt.days {
		got := partition(t, dst, d.YMD())
		if diff := cmp.Diff(lt.want[d.YMD()], got); diff != "" {
			t.Errorf("partition %s: events differ (-want +got):\n%s", d.YMD(), diff)
		}
	}
}

func TestLateEventsAreWrittenToTheirOwnDay(t *testing.T) {
	dates := []string{"2025-03-01", "2025-03-02", "2025-03-03", "2025-03-04", "2025-03-05", "2025-03-06"}
	lt := makeLateTrail(t, "Asia/Seoul", dates, 4, time.Hour)
	src := lt.writeDir(t)
	out := t.TempDir()
	ctx := context.Background()
	dst, err := store.Open(ctx, out, store.Options{})
	if err != nil {
		t.Fatal(err)
	}

	sums := lt.runAll(t, src, out, pipeline.Stores{})
	lt.check(t, dst)
	var total int64
	for _, d := range lt.days {
		s := sums[d.YMD()]
		if err := s.Check(); err != nil {
			t.Error(err)
		}
		if s.Late == nil || s.Late.Written != lt.lateBy[d.YMD()] {
			t.Errorf("%s: summary says %+v late events written, want %d", d.Date, s.Late, lt.lateBy[d.YMD()])
		}
		if s.Records.Late < lt.lateBy[d.YMD()] {
			t.Errorf("%s: %d records counted late, fewer than the %d it wrote", d.Date, s.Records.Late, lt.lateBy[d.YMD()])
		}
		total += s.Late.Written
	}
	if total < 50 {
		t.Fatalf("only %d late events: the trail does not test much", total)
	}

	// A rerun of any day changes no partition, and writes as many late
	// events again (replacing its files, not adding to them).
	for _, d := range lt.days {
		s, err := pipeline.Run(ctx, pipeline.Config{
			Source: src, Destination: out, Date: d.Date, TimeZone: lt.zone,
			Columns: record.Seed, LocalTimeColumn: "eventtime_kst", Deduplicate: true,
			LateArrival: lt.margin, TargetShardBytes: 8 << 10, Workers: 2,
		})
		if err != nil {
			t.Fatalf("rerun %s: %v", d.Date, err)
		}
		if s.Late.Written != lt.lateBy[d.YMD()] {
			t.Errorf("rerun %s: %d late events written, want %d", d.Date, s.Late.Written, lt.lateBy[d.YMD()])
		}
		lt.check(t, dst)
	}

	// A wider margin makes the day read its late files itself: the late
	// files of other days' runs are dropped, the events stay, once.
	d := lt.days[1]
	s, err := pipeline.Run(ctx, pipeline.Config{
		Source: src, Destination: out, Date: d.Date, TimeZone: lt.zone,
		Columns: record.Seed, LocalTimeColumn: "eventtime_kst", Deduplicate: true,
		LateArrival: 50 * time.Hour, TargetShardBytes: 8 << 10, Workers: 2,
	})
	if err != nil {
		t.Fatal(err)
	}
	if s.Late.CarriedFiles != 0 || s.Late.Carried != 0 {
		t.Errorf("with a 50h margin the day still carries %d rows in %d late files", s.Late.Carried, s.Late.CarriedFiles)
	}
	lt.check(t, dst)
	// And a rerun of the delivering days then adds nothing to it.
	for _, d := range lt.days[2:] {
		if _, err := pipeline.Run(ctx, pipeline.Config{
			Source: src, Destination: out, Date: d.Date, TimeZone: lt.zone,
			Columns: record.Seed, LocalTimeColumn: "eventtime_kst", Deduplicate: true,
			LateArrival: lt.margin, TargetShardBytes: 8 << 10, Workers: 2,
		}); err != nil {
			t.Fatal(err)
		}
	}
	lt.check(t, dst)
	// A narrower rerun of the day reads as far as its published run did:
	// the delivering days' runs left those files' events to it.
	s = lt.run(t, src, out, d.Date, lt.margin)
	if s.Late.Widened == "" {
		t.Errorf("a 1h rerun of %s after a 50h run does not say it read further", d.Date)
	}
	lt.check(t, dst)
}

// run runs one day with a margin.
func (lt *lateTrail) run(t *testing.T, src, dst, date string, margin time.Duration) *plan.Report {
	t.Helper()
	s, err := pipeline.Run(context.Background(), pipeline.Config{
		Source: src, Destination: dst, Date: date, TimeZone: lt.zone, Types: lt.types,
		Columns: record.Seed, LocalTimeColumn: "eventtime_kst", Deduplicate: true,
		LateArrival: margin, TargetShardBytes: 8 << 10, Workers: 2,
	})
	if err != nil {
		t.Fatalf("run %s with a %s margin: %v", date, margin, err)
	}
	if err := s.Check(); err != nil {
		t.Errorf("run %s with a %s margin: %v", date, margin, err)
	}
	return s
}

// TestLateEventsSparkTypes: with the Spark job's types the late events
// reach their own days too, through reruns that replace late files and a
// wider rerun that carries (and rewrites) other days' late files: the
// day's published files, of the Spark types, are read back for it.
func TestLateEventsSparkTypes(t *testing.T) {
	dates := []string{"2025-03-01", "2025-03-02", "2025-03-03", "2025-03-04", "2025-03-05", "2025-03-06"}
	lt := makeLateTrail(t, "Asia/Seoul", dates, 4, time.Hour)
	lt.types = record.Spark
	src := lt.writeDir(t)
	out := t.TempDir()
	dst, err := store.Open(context.Background(), out, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	sums := lt.runAll(t, src, out, pipeline.Stores{})
	var total int64
	for _, d := range lt.days {
		if s := sums[d.YMD()]; s.Late == nil || s.Late.Written != lt.lateBy[d.YMD()] {
			t.Errorf("%s: %+v late events written, want %d", d.Date, s.Late, lt.lateBy[d.YMD()])
		} else {
			total += s.Late.Written
		}
	}
	if total < 20 {
		t.Fatalf("only %d late events: the trail does not test much", total)
	}
	lt.check(t, dst)
	for _, d := range lt.days {
		lt.run(t, src, out, d.Date, lt.margin)
		lt.check(t, dst)
	}
	d := lt.days[1]
	lt.run(t, src, out, d.Date, 50*time.Hour)
	lt.check(t, dst)
	for _, d := range lt.days[2:] {
		lt.run(t, src, out, d.Date, lt.margin)
	}
	lt.check(t, dst)
	lt.run(t, src, out, d.Date, lt.margin)
	lt.check(t, dst)
}

// TestLateEventsWithMarginsThatDiffer runs the days of a trail in several
// orders with margins that differ between days and between runs of a day
// (wider and narrower reruns of the days that deliver late events and of
// the days they belong to): once every day has run, and after every run
// from then on, each event is in its own day's partition exactly once.
func TestLateEventsWithMarginsThatDiffer(t *testing.T) {
	// Late deliveries of the first two days' events end within the window
	// of the last day: every event is read by some run whatever the
	// margins.
	dates := []string{"2025-03-01", "2025-03-02", "2025-03-03", "2025-03-04", "2025-03-05"}
	lt := makeLateTrail(t, "Asia/Seoul", dates, 2, time.Hour)
	src := lt.writeDir(t)
	type step struct {
		day    int // index into dates
		margin time.Duration
	}
	const narrow, wide = 10 * time.Minute, 50 * time.Hour
	all := func(m time.Duration) []step { return []step{{0, m}, {1, m}, {2, m}, {3, m}, {4, m}} }
	tests := []struct {
		name  string
		steps []step
	}{
		{"target day wider, then narrower", append(all(time.Hour), step{1, wide}, step{2, time.Hour}, step{1, time.Hour}, step{0, narrow}, step{3, time.Hour})},
		{"delivering day wider, then narrower", append(all(time.Hour), step{2, wide}, step{1, time.Hour}, step{2, narrow}, step{3, wide}, step{3, narrow})},
		{"target day first and wide, then narrow", []step{{1, wide}, {0, time.Hour}, {2, time.Hour}, {3, time.Hour}, {4, narrow}, {1, narrow}, {0, wide}, {2, narrow}}},
		{"backwards, narrow days left to wide ones", []step{{4, narrow}, {3, narrow}, {2, wide}, {1, narrow}, {0, time.Hour}, {3, wide}, {2, narrow}, {1, wide}}},
		{"in order, a day wider than the one before", []step{{0, narrow}, {1, time.Hour}, {2, wide}, {3, narrow}, {4, time.Hour}}},
		{"narrow days then a wide delivering day", append(all(narrow), step{3, wide}, step{2, wide}, step{0, narrow}, step{3, narrow})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := t.TempDir()
			dst, err := store.Open(context.Background(), out, store.Options{})
			if err != nil {
				t.Fatal(err)
			}
			ran := map[int]bool{}
			for i, st := range tt.steps {
				lt.run(t, src, out, dates[st.day], st.margin)
				ran[st.day] = true
				if len(ran) < len(dates) {
					continue // a day not run yet lacks its own events
				}
				for _, d := range lt.days {
					if diff := cmp.Diff(lt.want[d.YMD()], partition(t, dst, d.YMD())); diff != "" {
						t.Fatalf("after step %d (%s with %s): partition %s differs (-want +got):\n%s", i, dates[st.day], st.margin, d.YMD(), diff)
					}
				}
			}
		})
	}
}

func TestLateEventsOnS3(t *testing.T) {
	dates := []string{"2025-03-01", "2025-03-02", "2025-03-03", "2025-03-04"}
	lt := makeLateTrail(t, "UTC", dates, 2, time.Hour)
	endpoint, client := s3test.Start(t)
	s3test.CreateBucket(t, client, "logs")
	s3test.CreateBucket(t, client, "lake")
	s3test.PutAll(t, client, "logs", lt.objs)
	opts := store.Options{Endpoint: endpoint, Region: s3test.Region, PathStyle: true,
		AccessKeyID: s3test.AccessKeyID, SecretAccessKey: s3test.SecretAccessKey}
	sums := lt.runAll(t, "s3://logs", "s3://lake/ct", pipeline.Stores{Source: opts, Destination: opts})
	dst, err := store.Open(context.Background(), "s3://lake/ct", opts)
	if err != nil {
		t.Fatal(err)
	}
	lt.check(t, dst)
	var total int64
	for _, s := range sums {
		total += s.Late.Written
	}
	if total == 0 {
		t.Error("no late event written")
	}
}
