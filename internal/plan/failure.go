package plan

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/parquetrail/parquetrail/internal/digest"
	"github.com/parquetrail/parquetrail/internal/store"
)

// Failure is what the plan worker leaves at PlanFailureKey when planning
// fails on bad input, for the operator to say why in the day's status: the
// problem, and the integrity report when verification failed the day.
type Failure struct {
	Error     string         `json:"error"`
	Integrity *digest.Report `json:"integrity,omitempty"`
}

// maxFailureBytes bounds what ReadFailure accepts; the report holds only
// the files that did not verify.
const maxFailureBytes = 64 << 20

// WriteFailure stores f at key.
func WriteFailure(ctx context.Context, st store.Store, key string, f *Failure) error {
	b, err := json.Marshal(f)
	if err != nil {
		return fmt.Errorf("plan: failure %s: %w", key, err)
	}
	w, err := st.Create(ctx, key)
	if err != nil {
		return fmt.Errorf("plan: failure: %w", err)
	}
	if _, err := w.Write(append(b, '\n')); err != nil {
		w.Abort()
		return fmt.Errorf("plan: failure: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("plan: failure: %w", err)
	}
	return nil
}

// ReadFailure loads the failure at key; a missing one gives an error for
// which store.IsNotExist holds.
func ReadFailure(ctx context.Context, st store.Store, key string) (*Failure, error) {
	r, err := st.Open(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("plan: %w", err)
	}
	defer r.Close()
	var f Failure
	if err := json.NewDecoder(io.LimitReader(r, maxFailureBytes)).Decode(&f); err != nil {
		return nil, fmt.Errorf("plan: %s/%s: %w", st.URL(), key, err)
	}
	return &f, nil
}
