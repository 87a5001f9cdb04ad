package plan

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/parquetrail/parquetrail/internal/store"
)

// maxJSONBytes bounds what ReadJSON accepts: results, failures, manifests
// and reports are kilobytes to a few megabytes; the bound keeps a corrupt
// or foreign object from exhausting the manager's memory. The plan itself
// is read by Read, whose bound is larger.
const maxJSONBytes = 64 << 20

// WriteJSON stores v as indented JSON at key: the one writer of the files
// the worker and the operator exchange (results, failures, manifests,
// reports), so that they all read back the same way.
func WriteJSON(ctx context.Context, st store.Store, key string, v any) error {
	w, err := st.Create(ctx, key)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		_ = w.Abort()
		return fmt.Errorf("encoding %s/%s: %w", st.URL(), key, err)
	}
	return w.Close()
}

// ReadJSON decodes the JSON object at key into v. A missing object gives an
// error for which store.IsNotExist holds; other errors name the object.
func ReadJSON(ctx context.Context, st store.Store, key string, v any) error {
	r, err := st.Open(ctx, key)
	if err != nil {
		return err
	}
	defer r.Close()
	b, err := io.ReadAll(io.LimitReader(r, maxJSONBytes+1))
	if err != nil {
		return fmt.Errorf("reading %s/%s: %w", st.URL(), key, err)
	}
	if len(b) > maxJSONBytes {
		return fmt.Errorf("%s/%s is larger than %d bytes", st.URL(), key, maxJSONBytes)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("decoding %s/%s: %w", st.URL(), key, err)
	}
	return nil
}
