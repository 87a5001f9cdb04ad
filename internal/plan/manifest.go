package plan

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/parquetrail/parquetrail/internal/store"
	"github.com/parquetrail/parquetrail/internal/window"
)

// Version is the plan format this package writes and reads.
const Version = 1

// maxPlanBytes bounds what Read accepts: an Organization trail's day of
// hundreds of thousands of files is tens of MB.
const maxPlanBytes = 1 << 30

// YMD is the plan's date as yyyyMMdd ("" when Date is malformed).
func (p *Plan) YMD() string {
	if len(p.Date) != len("2006-01-02") {
		return ""
	}
	return p.Date[0:4] + p.Date[5:7] + p.Date[8:10]
}

// Key is where Write puts the plan.
func (p *Plan) Key() string { return PlanKey(p.YMD(), p.RunID) }

// Write stores the plan as JSON at PlanKey(ymd, p.RunID) and returns the
// SHA-256 of what it wrote, hex-encoded: workers and the status name the
// plan by it.
func Write(ctx context.Context, st store.Store, p *Plan) (sha256hex string, err error) {
	if p.RunID == "" {
		return "", errors.New("plan: write: no run ID")
	}
	if p.YMD() == "" {
		return "", fmt.Errorf("plan: write: date %q is not YYYY-MM-DD", p.Date)
	}
	b, err := json.Marshal(p)
	if err != nil {
		return "", fmt.Errorf("plan: write: %w", err)
	}
	b = append(b, '\n')
	w, err := st.Create(ctx, p.Key())
	if err != nil {
		return "", fmt.Errorf("plan: %w", err)
	}
	if _, err := w.Write(b); err != nil {
		w.Abort()
		return "", fmt.Errorf("plan: %w", err)
	}
	if err := w.Close(); err != nil {
		return "", fmt.Errorf("plan: %w", err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}

// Read loads the plan at key and returns it with the SHA-256 of its bytes.
// A missing plan gives an error for which store.IsNotExist holds.
func Read(ctx context.Context, st store.Store, key string) (*Plan, string, error) {
	r, err := st.Open(ctx, key)
	if err != nil {
		return nil, "", fmt.Errorf("plan: %w", err)
	}
	defer r.Close()
	b, err := io.ReadAll(io.LimitReader(r, maxPlanBytes+1))
	if err != nil {
		return nil, "", fmt.Errorf("plan: read %s/%s: %w", st.URL(), key, err)
	}
	if len(b) > maxPlanBytes {
		return nil, "", fmt.Errorf("plan: %s/%s is larger than %d bytes", st.URL(), key, maxPlanBytes)
	}
	var p Plan
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&p); err != nil {
		return nil, "", fmt.Errorf("plan: %s/%s: %w", st.URL(), key, err)
	}
	if p.Version != Version {
		return nil, "", fmt.Errorf("plan: %s/%s: format version %d, want %d", st.URL(), key, p.Version, Version)
	}
	for i, s := range p.Shards {
		if s.Index != i {
			return nil, "", fmt.Errorf("plan: %s/%s: shard %d has index %d", st.URL(), key, i, s.Index)
		}
	}
	sum := sha256.Sum256(b)
	return &p, hex.EncodeToString(sum[:]), nil
}

// NewRunID names an attempt: its UTC start time to the second, so that
// run IDs sort by time, and 6 random hex digits, so that two attempts of
// the same second differ ("20261125T114500Z-3fa9c2").
func NewRunID(now time.Time) string {
	var r [3]byte
	rand.Read(r[:]) // never fails (crypto/rand)
	return now.UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(r[:])
}

// Day is the plan's day and its window, the one place a run's day is built
// from the plan's date and zone.
func (p *Plan) Day() (window.Day, error) {
	d, err := window.New(p.Date, p.TimeZone)
	if err != nil {
		return window.Day{}, fmt.Errorf("plan %s: %w", p.RunID, err)
	}
	return d, nil
}
