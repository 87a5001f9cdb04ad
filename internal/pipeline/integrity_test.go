package pipeline_test

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/parquetrail/parquetrail/internal/digest"
	"github.com/parquetrail/parquetrail/internal/digest/digesttest"
	"github.com/parquetrail/parquetrail/internal/pipeline"
	"github.com/parquetrail/parquetrail/internal/plan"
	"github.com/parquetrail/parquetrail/internal/problem"
	"github.com/parquetrail/parquetrail/internal/record"
	"github.com/parquetrail/parquetrail/internal/store"
)

// signedTrail writes a trail of one UTC day with hourly signed digests to
// a folder (signatures in sidecar files), edits one log file and adds
// another, and returns the folder, the PEM file of the public key, and the
// two keys.
func signedTrail(t *testing.T) (src, pemFile, edited, added string) {
	t.Helper()
	b := digesttest.NewBucket("trail-bucket")
	key := digesttest.NewKey(t)
	tr := &digesttest.Trail{Bucket: b, Account: "111122223333", Region: "us-east-1", Name: "main", Key: key}
	at := func(h, m int) time.Time { return time.Date(2026, 11, 24, h, m, 0, 0, time.UTC) }
	var logs []string
	for h := 0; h < 25; h++ {
		logs = append(logs, tr.Log(t, at(h, 10), digesttest.Record(at(h, 8), fmt.Sprintf("e%02d", h))))
		tr.Seal(t, at(h+1, 1).Add(31*time.Second))
	}
	edited = logs[3]
	b.Objects[edited] = digesttest.Gzip(t, []byte(`{"Records":[`+digesttest.Record(at(3, 8), "forged")+`]}`))
	added = tr.Inject(t, at(4, 30), digesttest.Record(at(4, 29), "added"))
	src = t.TempDir()
	b.WriteDir(t, src, true)
	pemFile = filepath.Join(t.TempDir(), "keys.pem")
	if err := os.WriteFile(pemFile, digest.EncodePEM([]digest.PublicKey{digesttest.Public(key)}), 0o600); err != nil {
		t.Fatal(err)
	}
	return src, pemFile, edited, added
}

func integrityConfig(src, dst, pemFile, policy string) pipeline.Config {
	return pipeline.Config{
		Source: src, Destination: dst, Date: "2026-11-24", Columns: record.Full, OnMalformed: "report",
		VerifyIntegrity: true, PublicKeys: pemFile, OnIntegrity: policy, Workers: 2,
	}
}

func readErrors(t *testing.T, path string) map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var p problem.Problem
		if err := jsonDecode(strings.NewReader(sc.Text()), &p); err != nil {
			t.Fatal(err)
		}
		got[filepath.Base(p.Object)] = p.Kind
	}
	return got
}

func TestIntegrityReport(t *testing.T) {
	src, pemFile, edited, added := signedTrail(t)
	dst := t.TempDir()
	s, err := pipeline.Run(t.Context(), integrityConfig(src, dst, pemFile, "report"))
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if s.Integrity == nil {
		t.Fatal("the summary has no integrity counts")
	}
	got := s.Integrity.Counts
	got.Digests = 0
	// 25 files selected by a UTC day with a 1 h margin (00:10 .. 00:10 of
	// the next day) plus the added one; the digests reach past the margin.
	want := digest.Counts{Verified: 24, Mismatch: 1, Unlisted: 1}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("integrity counts (-want +got):\n%s", diff)
	}
	if len(s.Integrity.Ranges) != 1 || !s.Integrity.Ranges[0].Intact {
		t.Errorf("ranges %+v, want one intact chain", s.Integrity.Ranges)
	}
	// The published day states which delivered files it stands on.
	dstStore, err := store.Open(t.Context(), dst, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var m plan.Manifest
	readJSON(t, dstStore, plan.ManifestKey("20261124"), &m)
	if m.Integrity == nil {
		t.Fatal("the day's manifest has no integrity record")
	}
	if diff := cmp.Diff(s.Integrity.Ranges, m.Integrity.Ranges); diff != "" {
		t.Errorf("manifest's verified digest ranges differ from the summary's (-summary +manifest):\n%s", diff)
	}
	// Both are named in the run's error manifest; the day is still written.
	gotErrs := readErrors(t, filepath.Join(dst, filepath.FromSlash(plan.ErrorsKey("20261124", s.RunID))))
	wantErrs := map[string]string{
		filepath.Base(edited): digest.KindFile + string(digest.HashMismatch),
		filepath.Base(added):  digest.KindFile + string(digest.Unlisted),
	}
	if diff := cmp.Diff(wantErrs, gotErrs); diff != "" {
		t.Errorf("error manifest (-want +got):\n%s", diff)
	}
	if s.Records.Written == 0 {
		t.Error("report policy wrote nothing")
	}
	var text strings.Builder
	s.WriteText(&text)
	if !strings.Contains(text.String(), "verified 24, not yet covered 0, hash mismatch 1, missing 0, unlisted 1, digest invalid 0") {
		t.Errorf("text summary lacks the integrity line:\n%s", text.String())
	}
}

func TestIntegrityFail(t *testing.T) {
	src, pemFile, edited, _ := signedTrail(t)
	dst := t.TempDir()
	_, err := pipeline.Run(t.Context(), integrityConfig(src, dst, pemFile, "fail"))
	if !errors.Is(err, problem.ErrBadInput) || !strings.Contains(err.Error(), "1 hash mismatches") {
		t.Fatalf("Run error = %v, want bad input naming the mismatch", err)
	}
	// Nothing was published, and the error manifest names the edited file.
	if _, err := os.Stat(filepath.Join(dst, filepath.FromSlash(plan.ManifestKey("20261124")))); !os.IsNotExist(err) {
		t.Errorf("a failed day published a manifest (stat: %v)", err)
	}
	matches, _ := filepath.Glob(filepath.Join(dst, "_parquetrail", "errors", "proc_ymd=20261124", "*.jsonl"))
	if len(matches) != 1 {
		t.Fatalf("error manifests: %v, want one", matches)
	}
	if got := readErrors(t, matches[0]); got[filepath.Base(edited)] != digest.KindFile+string(digest.HashMismatch) {
		t.Errorf("error manifest %v does not name %s", got, edited)
	}
}

// Validate refuses what cannot be meant.
func TestIntegrityConfig(t *testing.T) {
	c := integrityConfig("/in", "/out", "", "sometimes")
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "on-integrity") {
		t.Errorf("Validate = %v, want an on-integrity error", err)
	}
	c = integrityConfig("/in", "/out", "keys.pem", "fail")
	c.VerifyIntegrity = false
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "public keys") {
		t.Errorf("Validate = %v, want a public-keys error", err)
	}
}
