package cli

import (
	"errors"
	"fmt"
	"io"
	"log/slog"

	"github.com/parquetrail/parquetrail/internal/problem"
)

// WithHint adds to err the line to print under it, such as what to run for
// help after a usage error.
func WithHint(err error, hint string) error {
	return hinted{err, hint}
}

type hinted struct {
	error
	hint string
}

func (h hinted) Unwrap() error { return h.error }

// ExitStatus is an error whose report a command has printed itself: Exit
// prints nothing more and returns the code.
type ExitStatus int

func (e ExitStatus) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

// Exit reports err on stderr, as "program: error" and its hint, or as a
// JSON record on jsonLog when the command logs JSON, and returns the exit
// code: 0 for nil, 2 for usage and settings, 3 for bad input, else 1.
func Exit(err error, program string, stderr io.Writer, jsonLog *slog.Logger) int {
	if err == nil {
		return problem.ExitOK
	}
	var st ExitStatus
	if errors.As(err, &st) {
		return int(st)
	}
	code := problem.ExitCode(err)
	if jsonLog != nil {
		jsonLog.Error(err.Error(), slog.Int("exitCode", code))
		return code
	}
	fmt.Fprintf(stderr, "%s: %v\n", program, err)
	var h hinted
	if errors.As(err, &h) && h.hint != "" {
		fmt.Fprintln(stderr, h.hint)
	}
	return code
}
