package cli

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/cobra"

	"github.com/parquetrail/parquetrail/internal/problem"
)

func TestEnvName(t *testing.T) {
	for flag, want := range map[string]string{
		"time-zone": "PARQUETRAIL_TIME_ZONE", "kubeconfig": "PARQUETRAIL_KUBECONFIG", "zap-log-level": "PARQUETRAIL_ZAP_LOG_LEVEL",
	} {
		if got := EnvName(flag); got != want {
			t.Errorf("EnvName(%q) = %q, want %q", flag, got, want)
		}
	}
}

// TestExit: each kind of error gets its exit code and one report on stderr.
func TestExit(t *testing.T) {
	for _, tc := range []struct {
		name   string
		err    error
		code   int
		stderr string
	}{
		{"nil", nil, 0, ""},
		{"failure", errors.New("listing s3://trail: timeout"), 1, "prog: listing s3://trail: timeout\n"},
		{"usage with hint", problem.Usage(WithHint(errors.New("unknown flag: --dat"), "Run 'prog --help'.")), 2, "prog: unknown flag: --dat\nRun 'prog --help'.\n"},
		{"bad input", fmt.Errorf("key a.json.gz: %w", problem.ErrBadInput), 3, "prog: key a.json.gz: " + problem.ErrBadInput.Error() + "\n"},
		{"reported", ExitStatus(1), 1, ""},
		{"reported, wrapped", fmt.Errorf("self-check: %w", ExitStatus(2)), 2, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stderr bytes.Buffer
			code := Exit(tc.err, "prog", &stderr, nil)
			if d := cmp.Diff(fmt.Sprint(tc.code, " ", tc.stderr), fmt.Sprint(code, " ", stderr.String())); d != "" {
				t.Errorf("exit code and stderr (-want +got):\n%s", d)
			}
		})
	}
	var stderr bytes.Buffer
	log, _ := NewLogger("json", &stderr)
	if code := Exit(problem.Usage(errors.New("bad")), "prog", &stderr, log); code != 2 ||
		!bytes.Contains(stderr.Bytes(), []byte(`"msg":"bad","exitCode":2}`)) {
		t.Errorf("JSON: exit %d, %s", code, stderr.String())
	}
	if _, err := NewLogger("xml", &stderr); problem.ExitCode(err) != 2 {
		t.Errorf("--log-format xml: %v", err)
	}
}

func TestSuggestFlag(t *testing.T) {
	cmd := &cobra.Command{Use: "x"}
	cmd.Flags().String("time-zone", "", "")
	cmd.Flags().String("date", "", "")
	cmd.Flags().String("max-concurrent-days", "", "")
	cmd.Flags().String("cpu-profile", "", "")
	if err := cmd.Flags().MarkHidden("cpu-profile"); err != nil {
		t.Fatal(err)
	}
	for typed, want := range map[string]string{
		"dat": "date", "time-zon": "time-zone", "timezone": "time-zone", "max-concurent-days": "max-concurrent-days",
		"max-conc": "max-concurrent-days", "cpu-profil": "", "xyz": "",
	} {
		if got := suggestFlag(cmd, typed); got != want {
			t.Errorf("suggestFlag(%q) = %q, want %q", typed, got, want)
		}
	}
}

func TestVersion(t *testing.T) {
	if got := Version("v1.2.3"); got != "v1.2.3" {
		t.Errorf("Version(v1.2.3) = %q", got)
	}
	if got := Version(""); got == "" || got == "dev" {
		t.Errorf("Version from the build info = %q", got)
	}
}
