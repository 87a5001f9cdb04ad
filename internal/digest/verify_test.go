package digest_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/parquetrail/parquetrail/internal/digest"
	"github.com/parquetrail/parquetrail/internal/digest/digesttest"
	"github.com/parquetrail/parquetrail/internal/store"
	"github.com/parquetrail/parquetrail/internal/store/s3test"
	"github.com/parquetrail/parquetrail/internal/trail"
	"github.com/parquetrail/parquetrail/internal/window"
)

var day = window.MustNew("2026-11-24", "UTC")

const margin = time.Hour

func at(h, m int) time.Time { return time.Date(2026, 11, 24, h, m, 0, 0, time.UTC) }

// seal is the digest end of CloudTrail's hourly cycle after hour h.
func seal(h int) time.Time { return at(h, 1).Add(31 * time.Second) }

// scenario is a generated bucket with what verification must say of it.
type scenario struct {
	bucket   *digesttest.Bucket
	keys     digest.Bundle
	outcomes map[string]digest.Outcome // every file examined
	digests  map[string]digest.Failure // every digest that fails
}

func (s *scenario) want(key string, o digest.Outcome) { s.outcomes[key] = o }

// tamperedTrail builds a bucket below the prefix "trails/" with three
// trails and every way a trail can go wrong:
//
//   - us-east-1: a digest each hour from the day before on; the last hour's
//     digest is not delivered yet; one log file edited, one deleted, one
//     added into a covered hour, one added near the newest digest's end,
//     and one digest edited after signing (so it and the chain after it fail);
//   - us-west-2: a digest deleted from the middle of the chain;
//   - eu-west-1: digests signed by a key the public-key set lacks.
func tamperedTrail(t *testing.T) *scenario {
	b := digesttest.NewBucket("trail-bucket")
	key, otherKey := digesttest.NewKey(t), digesttest.NewKey(t)
	s := &scenario{bucket: b, keys: digest.Bundle{digesttest.Public(key)},
		outcomes: map[string]digest.Outcome{}, digests: map[string]digest.Failure{}}
	rec := func(t0 time.Time) string { return digesttest.Record(t0.Add(-3*time.Minute), fmt.Sprint(t0.Unix())) }

	east := &digesttest.Trail{Bucket: b, Root: "trails/", Account: "111122223333", Region: "us-east-1", Name: "main", Key: key}
	east.Log(t, at(-2, 30), rec(at(-2, 30))) // the day before: not selected
	east.Seal(t, seal(-1))                   // in the previous UTC day's folder
	var logs [24][2]string
	digests := map[int]string{}
	for h := 0; h < 24; h++ {
		logs[h][0] = east.Log(t, at(h, 10), rec(at(h, 10)))
		logs[h][1] = east.Log(t, at(h, 40), rec(at(h, 40)))
		if h < 23 { // the digest of 23:xx is not delivered yet
			digests[h] = east.Seal(t, seal(h+1))
		}
	}
	for h := 0; h < 23; h++ {
		s.want(logs[h][0], digest.Verified)
		s.want(logs[h][1], digest.Verified)
	}
	s.want(logs[23][0], digest.NotCovered)
	s.want(logs[23][1], digest.NotCovered)
	s.want(east.Log(t, at(24, 10), rec(at(24, 10))), digest.NotCovered)
	s.want(east.Log(t, at(24, 40), rec(at(24, 40))), digest.NotCovered)
	s.want(east.Log(t, at(26, 40), rec(at(26, 40))), "") // past the margin: not selected

	// Edited after delivery.
	b.Objects[logs[5][0]] = digesttest.Gzip(t, []byte(`{"Records":[]}`))
	s.want(logs[5][0], digest.HashMismatch)
	// Deleted.
	b.Delete(logs[6][1])
	s.want(logs[6][1], digest.Missing)
	// Added into a covered hour; added just before the newest digest ends.
	s.want(east.Inject(t, at(10, 20), rec(at(10, 20))), digest.Unlisted)
	s.want(east.Inject(t, at(22, 55), rec(at(22, 55))), digest.NotCovered)
	// The digest of 07:xx edited after signing: its signature fails, its
	// files prove nothing, and the next digest's link to it breaks.
	d7 := digests[7]
	raw := gunzip(t, b.Objects[d7])
	b.Objects[d7] = digesttest.Gzip(t, bytes.Replace(raw, []byte(`"logFiles":[`), []byte(`"logFiles":[{"s3Bucket":"trail-bucket","s3Object":"trails/`+strings.Replace(logs[7][0], "_0000", "_9999", 1)+`","hashValue":"`+strings.Repeat("0", 64)+`","hashAlgorithm":"SHA-256"},`), 1))
	s.digests[d7] = digest.BadSignature
	s.digests[digests[8]] = digest.BrokenChain
	s.want(logs[7][0], digest.DigestInvalid)
	s.want(logs[7][1], digest.DigestInvalid)

	west := &digesttest.Trail{Bucket: b, Root: "trails/", Account: "111122223333", Region: "us-west-2", Name: "main", Key: key}
	var westLogs []string
	var westDigests []string
	for h := 0; h < 6; h++ {
		westLogs = append(westLogs, west.Log(t, at(h, 20), rec(at(h, 20))))
		westDigests = append(westDigests, west.Seal(t, seal(h+1)))
		s.want(westLogs[h], digest.Verified)
	}
	// Deleting the digest of 02:xx leaves its log unlisted; the next digest
	// is authentic, so its log still verifies, but its chain is broken.
	b.Delete(westDigests[2])
	s.want(westLogs[2], digest.Unlisted)
	s.digests[westDigests[3]] = digest.BrokenChain

	eu := &digesttest.Trail{Bucket: b, Root: "trails/", Account: "444455556666", Region: "eu-west-1", Name: "main", Key: otherKey}
	s.want(eu.Log(t, at(3, 20), rec(at(3, 20))), digest.DigestInvalid)
	s.digests[eu.Seal(t, seal(4))] = digest.UnknownKey

	// A digest of another service's layout and an Insights file are ignored.
	b.Objects["trails/AWSLogs/111122223333/CloudTrail-Insight/us-east-1/2026/11/24/x.json.gz"] = digesttest.Gzip(t, []byte(`{}`))
	return s
}

func gunzip(t *testing.T, b []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// selected lists the source as the plan would select: event logs whose
// delivery the day's window and margin select.
func selected(t *testing.T, src store.Store) []store.Object {
	t.Helper()
	var out []store.Object
	err := src.List(t.Context(), "", func(o store.Object) error {
		if k, ok := trail.ParseKey(o.Key); ok {
			if sel, _ := day.Selects(k.Delivered, margin); sel {
				out = append(out, o)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// check runs Verify and compares every file's outcome and every digest
// failure with the scenario's, and the counts with their tally.
func check(t *testing.T, s *scenario, src store.Store, strip string) *digest.Report {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	rep, err := digest.Verify(ctx, digest.Options{
		Source: src, Day: day, LateArrival: margin, Objects: selected(t, src), Keys: s.keys, Concurrency: 4,
	})
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	wantFiles := map[string]digest.Outcome{}
	var wantCounts digest.Counts
	for k, o := range s.outcomes {
		if o == "" {
			continue
		}
		wantFiles[strings.TrimPrefix(k, strip)] = o
		switch o {
		case digest.Verified:
			wantCounts.Verified++
		case digest.NotCovered:
			wantCounts.NotCovered++
		case digest.HashMismatch:
			wantCounts.Mismatch++
		case digest.Missing:
			wantCounts.Missing++
		case digest.Unlisted:
			wantCounts.Unlisted++
		case digest.DigestInvalid:
			wantCounts.DigestInvalid++
		}
	}
	gotFiles := map[string]digest.Outcome{}
	for _, f := range rep.Files {
		gotFiles[f.Key] = f.Outcome
	}
	if diff := cmp.Diff(wantFiles, gotFiles); diff != "" {
		t.Errorf("file outcomes (-want +got):\n%s", diff)
	}
	wantDigests := map[string]digest.Failure{}
	for k, f := range s.digests {
		wantDigests[strings.TrimPrefix(k, strip)] = f
	}
	gotDigests := map[string]digest.Failure{}
	for _, d := range rep.Digests {
		gotDigests[d.Key] = d.Failure
	}
	if diff := cmp.Diff(wantDigests, gotDigests); diff != "" {
		t.Errorf("digest failures (-want +got):\n%s", diff)
	}
	got := rep.Counts
	got.Digests, got.DigestFailures = 0, 0
	if diff := cmp.Diff(wantCounts, got); diff != "" {
		t.Errorf("counts (-want +got):\n%s", diff)
	}
	if rep.Counts.DigestFailures != int64(len(s.digests)) {
		t.Errorf("DigestFailures = %d, want %d", rep.Counts.DigestFailures, len(s.digests))
	}
	return rep
}

func TestVerifyS3(t *testing.T) {
	s := tamperedTrail(t)
	endpoint, client := s3test.Start(t)
	s3test.CreateBucket(t, client, s.bucket.Name)
	s.bucket.Upload(t, client)
	src := store.NewS3(s3test.Client(endpoint), s.bucket.Name, "trails/", store.Options{})

	rep := check(t, s, src, "trails/")
	if !rep.Tampered() {
		t.Error("Tampered() = false for a tampered trail")
	}
	// us-east-1: 23 digests of the day (the one before it in the previous
	// day's folder is read only to check the first link); us-west-2: 5 left;
	// eu-west-1: 1.
	if rep.Counts.Digests != 29 {
		t.Errorf("Counts.Digests = %d, want 29", rep.Counts.Digests)
	}
	type rng struct {
		Chain      string
		Start, End time.Time
		Digests    int
		Intact     bool
	}
	var gotRanges []rng
	for _, r := range rep.Ranges {
		gotRanges = append(gotRanges, rng{r.Chain, r.Start, r.End, r.Digests, r.Intact})
	}
	wantRanges := []rng{
		{"AWSLogs/111122223333/CloudTrail-Digest/us-east-1/main_us-east-1", seal(-1), seal(23), 23, false},
		{"AWSLogs/111122223333/CloudTrail-Digest/us-west-2/main_us-west-2", seal(0), seal(6), 5, false},
		{"AWSLogs/444455556666/CloudTrail-Digest/eu-west-1/main_eu-west-1", seal(3), seal(4), 1, false},
	}
	if diff := cmp.Diff(wantRanges, gotRanges); diff != "" {
		t.Errorf("ranges (-want +got):\n%s", diff)
	}
	// Every non-verified file and failed digest is named for the error manifest.
	probs := rep.Problems()
	if want := len(s.digests) + int(rep.Counts.NotCovered+rep.Counts.Mismatch+rep.Counts.Missing+rep.Counts.Unlisted+rep.Counts.DigestInvalid); len(probs) != want {
		t.Errorf("Problems() has %d entries, want %d", len(probs), want)
	}
	for _, p := range probs {
		if p.Object == "" || !strings.HasPrefix(p.Kind, "integrity-") || p.Detail == "" {
			t.Errorf("problem %+v does not name its object, kind and cause", p)
		}
	}
	if n := len(rep.Brief().Files); n != len(probs)-len(s.digests) {
		t.Errorf("Brief() keeps %d files, want the %d not verified", n, len(probs)-len(s.digests))
	}
}

// An untouched trail verifies whole; a chain intact across the day.
func TestVerifyIntact(t *testing.T) {
	b := digesttest.NewBucket("clean")
	key := digesttest.NewKey(t)
	s := &scenario{bucket: b, keys: digest.Bundle{digesttest.Public(key)}, outcomes: map[string]digest.Outcome{}, digests: map[string]digest.Failure{}}
	tr := &digesttest.Trail{Bucket: b, Org: "o-abc123", Account: "111122223333", Region: "ap-northeast-2", Name: "org-trail", Key: key}
	for h := 0; h < 26; h++ {
		k := tr.Log(t, at(h, 5), digesttest.Record(at(h, 4), fmt.Sprint(h)))
		tr.Seal(t, seal(h+1))
		if h <= 24 {
			s.want(k, digest.Verified)
		}
	}
	endpoint, client := s3test.Start(t)
	s3test.CreateBucket(t, client, b.Name)
	b.Upload(t, client)
	rep := check(t, s, store.NewS3(s3test.Client(endpoint), b.Name, "", store.Options{}), "")
	if rep.Tampered() || len(rep.Ranges) != 1 || !rep.Ranges[0].Intact {
		t.Errorf("Tampered() = %v, ranges %+v; want an intact chain", rep.Tampered(), rep.Ranges)
	}
}

// A local folder keeps no S3 metadata: signatures come from sidecar files;
// without them every digest fails and nothing verifies.
func TestVerifyLocal(t *testing.T) {
	t.Run("sidecars", func(t *testing.T) {
		s := tamperedTrail(t)
		dir := t.TempDir()
		s.bucket.WriteDir(t, dir, true)
		src, err := store.Open(t.Context(), dir+"/trails", store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		check(t, s, src, "trails/")
	})
	t.Run("no sidecars", func(t *testing.T) {
		s := tamperedTrail(t)
		dir := t.TempDir()
		s.bucket.WriteDir(t, dir, false)
		src, err := store.Open(t.Context(), dir+"/trails", store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		rep, err := digest.Verify(t.Context(), digest.Options{Source: src, Day: day, LateArrival: margin, Objects: selected(t, src), Keys: s.keys})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Counts.Verified != 0 || rep.Counts.Digests == 0 || rep.Counts.DigestFailures < rep.Counts.Digests {
			t.Errorf("counts %+v: want every digest failed and nothing verified", rep.Counts)
		}
		for _, d := range rep.Digests {
			if d.Failure == digest.BadSignature && !strings.Contains(d.Detail, digest.SignatureSuffix) {
				t.Errorf("%s: %s does not say where the signature was looked for", d.Key, d.Detail)
			}
		}
	})
}
