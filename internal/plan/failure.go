package plan

import (
	"context"

	"github.com/parquetrail/parquetrail/internal/digest"
	"github.com/parquetrail/parquetrail/internal/store"
)

// PlanFailure is what the plan worker leaves at PlanFailureKey when planning
// fails on bad input, for the operator to say why in the day's status: the
// problem, and the integrity report when verification failed the day.
type PlanFailure struct {
	Error     string         `json:"error"`
	Integrity *digest.Report `json:"integrity,omitempty"`
}

// WritePlanFailure stores f at key.
func WritePlanFailure(ctx context.Context, st store.Store, key string, f *PlanFailure) error {
	return WriteJSON(ctx, st, key, f)
}

// ReadPlanFailure loads the failure at key; a missing one gives an error
// for which store.IsNotExist holds.
func ReadPlanFailure(ctx context.Context, st store.Store, key string) (*PlanFailure, error) {
	var f PlanFailure
	if err := ReadJSON(ctx, st, key, &f); err != nil {
		return nil, err
	}
	return &f, nil
}
