// Command shard-worker converts CloudTrail logs into Parquet. It is both the
// program the operator runs in its worker pods (flatten one shard of a plan,
// merge a day) and the way to run a whole day in one process (run).
//
// Exit codes: 0 success, 1 failure (a retry may help), 2 usage error,
// 3 bad input that a retry cannot fix (problem.ExitBadInput).
package main

import (
	"context"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/parquetrail/parquetrail/internal/cli"
	"github.com/parquetrail/parquetrail/internal/pqfile"
)

// version is set at build time with -ldflags "-X main.version=..."; without
// it, the version comes from the build info (see cli.Version).
var version = ""

// defaultMemoryLimit is the Go runtime's soft memory limit unless
// GOMEMLIMIT says otherwise: a worker stays under 256 MiB whatever the size
// of its shard or of one input file (the operator sets GOMEMLIMIT from the
// pod's memory limit instead).
const defaultMemoryLimit = 192 << 20

func main() {
	pqfile.Version = version // the files' created_by names this build
	if _, ok := os.LookupEnv("GOMEMLIMIT"); !ok {
		debug.SetMemoryLimit(defaultMemoryLimit)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run runs one command line and returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	a := &app{stdout: stdout, stderr: stderr, getenv: os.LookupEnv}
	root := a.rootCommand()
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	return a.exitCode(err)
}

func (a *app) exitCode(err error) int {
	var jsonLog *slog.Logger
	if a.jsonLogs {
		jsonLog = a.logger()
	}
	return cli.Exit(err, "shard-worker", a.stderr, jsonLog)
}
