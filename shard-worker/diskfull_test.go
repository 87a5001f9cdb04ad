package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// smallDisk mounts a tmpfs of size bytes (a destination that can fill up)
// and unmounts it when the test ends.
func smallDisk(t *testing.T, size string) string {
	t.Helper()
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		if os.Getenv("PARQUETRAIL_REQUIRE_ALL") != "" {
			t.Fatalf("mounting a tmpfs (the test needs root): %v: %s", err, out)
		}
		t.Skipf("mounting a tmpfs needs root: %v: %s", err, out)
	}
	t.Cleanup(func() { _ = syscall.Unmount(dir, syscall.MNT_DETACH) })
	return dir
}

// fill writes a file that leaves about free bytes of the file system.
func fill(t *testing.T, dir string, free int64) string {
	t.Helper()
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	avail := int64(st.Bavail) * st.Bsize
	path := filepath.Join(dir, "filler")
	if err := os.WriteFile(path, make([]byte, max(avail-free, 0)), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// A rerun of a published day on a destination that fills up fails with
// exit 1 (a retry may fix it), keeps the published day whole and leaves
// nothing behind, so that the retry succeeds once space is free.
func TestDestinationFillsUp(t *testing.T) {
	src := demoDay(t)
	dst := smallDisk(t, "16m")
	ctx := context.Background()
	var out, errb bytes.Buffer
	if code := run(ctx, runArgs(src, dst), &out, &errb); code != 0 {
		t.Fatalf("first run: exit %d: %s", code, errb.String())
	}
	before := readDay(t, dst, nil)

	filler := fill(t, dst, 64<<10)
	errb.Reset()
	code := run(ctx, runArgs(src, dst), &out, &errb)
	if code != 1 || !strings.Contains(strings.ToLower(errb.String()), "no space left") {
		t.Errorf("full destination: exit %d, stderr %q; want 1 and ENOSPC named", code, errb.String())
	}
	if after := readDay(t, dst, nil); after != before {
		t.Errorf("the day changed: %+v, was %+v", after, before)
	}
	noLeftovers(t, dst)

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	errb.Reset()
	if code := run(ctx, runArgs(src, dst), &out, &errb); code != 0 {
		t.Fatalf("retry with space: exit %d: %s", code, errb.String())
	}
	if after := readDay(t, dst, nil); after.Rows != before.Rows {
		t.Errorf("retry published %d rows, the first run %d", after.Rows, before.Rows)
	}
	noLeftovers(t, dst)
}
