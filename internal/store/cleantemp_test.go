package store

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// A killed writer's temporary file is removed at once; a live writer's,
// as old, stays until it closes it.
func TestCleanTempTellsKilledFromLive(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	st, err := Open(ctx, root, Options{})
	if err != nil {
		t.Fatal(err)
	}
	live, err := st.Create(ctx, "proc_ymd=20261124/part.parquet")
	if err != nil {
		t.Fatal(err)
	}
	defer live.Abort()
	if _, err := live.Write([]byte("half a file")); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, filepath.FromSlash(TempDir))
	leftover := filepath.Join(dir, tempPrefix+"killed")
	if err := os.WriteFile(leftover, []byte("a killed writer's"), 0o600); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-2 * tempGrace)
	des, _ := os.ReadDir(dir)
	for _, de := range des {
		os.Chtimes(filepath.Join(dir, de.Name()), old, old)
	}

	n, err := CleanTemp(st, time.Hour)
	if err != nil || n != 1 {
		t.Fatalf("CleanTemp removed %d (%v), want the leftover only", n, err)
	}
	if _, err := os.Stat(leftover); !os.IsNotExist(err) {
		t.Errorf("the killed writer's file is still there: %v", err)
	}
	if err := live.Close(); err != nil {
		t.Fatalf("the live writer lost its file: %v", err)
	}
	if b, err := os.ReadFile(filepath.Join(root, "proc_ymd=20261124", "part.parquet")); err != nil || string(b) != "half a file" {
		t.Errorf("published %q, %v", b, err)
	}
}
