package store_test

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/parquetrail/parquetrail/internal/problem"
	"github.com/parquetrail/parquetrail/internal/store"
)

func write(t *testing.T, path, body string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

func symlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}

// Links inside the source folder are followed; a link out of it is refused
// when listed or opened, naming it, as a configuration error.
func TestLocalSymlinks(t *testing.T) {
	ctx := context.Background()
	base := t.TempDir()
	root := filepath.Join(base, "src")
	write(t, filepath.Join(root, "a/real.json"), "real")
	write(t, filepath.Join(base, "secret/passwd"), "secret")
	symlink(t, "../a/real.json", filepath.Join(root, "b/inside.json"))

	st, err := store.Open(ctx, root, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	if err := st.List(ctx, "", func(o store.Object) error { keys = append(keys, o.Key); return nil }); err != nil {
		t.Fatalf("list with a link inside: %v", err)
	}
	if diff := cmp.Diff([]string{"a/real.json", "b/inside.json"}, keys); diff != "" {
		t.Errorf("keys (-want +got):\n%s", diff)
	}
	rc, err := st.Open(ctx, "b/inside.json")
	if err != nil {
		t.Fatalf("open a link inside: %v", err)
	}
	b, _ := io.ReadAll(rc)
	rc.Close()
	if string(b) != "real" {
		t.Errorf("link inside read %q", b)
	}

	// The same folder reached through a link of its own is still inside.
	symlink(t, root, filepath.Join(base, "via-link"))
	viaLink, err := store.Open(ctx, filepath.Join(base, "via-link"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if rc, err := viaLink.Open(ctx, "b/inside.json"); err != nil {
		t.Errorf("open through a linked root: %v", err)
	} else {
		rc.Close()
	}

	symlink(t, filepath.Join(base, "secret/passwd"), filepath.Join(root, "c/outside.json"))
	symlink(t, filepath.Join(base, "secret"), filepath.Join(root, "d"))
	refused := func(what string, err error, names string) {
		t.Helper()
		if !errors.Is(err, store.ErrOutsideRoot) {
			t.Errorf("%s: error %v, want ErrOutsideRoot", what, err)
			return
		}
		if !strings.Contains(err.Error(), names) {
			t.Errorf("%s: error %q does not name %s", what, err, names)
		}
		if got := problem.ExitCode(err); got != problem.ExitUsage {
			t.Errorf("%s: exit code %d, want %d", what, got, problem.ExitUsage)
		}
	}
	err = st.List(ctx, "", func(store.Object) error { return nil })
	refused("list", err, filepath.Join(root, "c/outside.json"))
	_, err = st.Open(ctx, "c/outside.json")
	refused("open", err, "c/outside.json")
	_, err = st.OpenFile(ctx, "d/passwd")
	refused("open through a linked folder", err, "d/passwd")
}
