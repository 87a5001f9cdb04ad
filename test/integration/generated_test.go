package integration

import (
	"os/exec"
	"path/filepath"
	"testing"
)

// TestGeneratedFilesAreCurrent fails when the committed deepcopy, CRD or
// RBAC role differ from what controller-gen makes of the code.
func TestGeneratedFilesAreCurrent(t *testing.T) {
	if testing.Short() {
		t.Skip("builds controller-gen on a cold cache")
	}
	cmd := exec.Command(filepath.Join("..", "..", "hack", "verify-generated.sh"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("hack/verify-generated.sh: %v\n%s", err, out)
	}
}
