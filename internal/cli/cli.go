// Package cli is what parquetrail's two commands, shard-worker and the
// operator's manager, share on top of cobra, so that both behave the same to
// a user: every flag also read from a PARQUETRAIL_* environment variable
// (flag > environment > default), help with flags under headings and the
// variable of each, "did you mean" for a mistyped command or flag, the
// version from the build info, text or JSON logs, and one mapping of errors
// to exit codes (0 done, 1 a retry may help, 2 usage or settings, 3 bad
// input).
package cli

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime/debug"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/parquetrail/parquetrail/internal/problem"
)

// EnvPrefix starts the environment variable of every flag:
// --time-zone is PARQUETRAIL_TIME_ZONE.
const EnvPrefix = "PARQUETRAIL_"

// EnvName is the environment variable of a flag.
func EnvName(flag string) string {
	return EnvPrefix + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// Setup gives root and its commands the project's behaviour: call it once
// every command and flag is registered. Errors are left to the caller
// (Exit prints them), the help goes to stdout.
func Setup(root *cobra.Command, stdout, stderr io.Writer) {
	root.SuggestionsMinimumDistance = 2
	root.SilenceErrors = true
	root.SilenceUsage = true
	root.SetUsageTemplate(usageTemplate)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetVersionTemplate("{{.Name}} {{.Version}}\n")
	root.SetFlagErrorFunc(FlagError)
	root.InitDefaultCompletionCmd()
	root.InitDefaultHelpCmd()
	// Name each flag's variable in its help, once every command has its flags.
	var annotate func(c *cobra.Command)
	annotate = func(c *cobra.Command) {
		c.Flags().SortFlags = false
		for _, fs := range []*pflag.FlagSet{c.LocalNonPersistentFlags(), c.PersistentFlags()} {
			fs.VisitAll(func(f *pflag.Flag) {
				env := " [$" + EnvName(f.Name) + "]"
				if f.Name != "help" && f.Name != "version" && !strings.Contains(f.Usage, env) {
					f.Usage += env
				}
			})
		}
		for _, s := range c.Commands() {
			annotate(s)
		}
	}
	annotate(root)
}

// ApplyEnv sets every flag of cmd that the command line left alone from its
// environment variable, if that is set; getenv is os.LookupEnv outside
// tests. Call it first in the root's PersistentPreRunE.
func ApplyEnv(cmd *cobra.Command, getenv func(string) (string, bool)) error {
	var errs []error
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		if f.Changed || f.Name == "help" || f.Name == "version" {
			return
		}
		v, ok := getenv(EnvName(f.Name))
		if !ok {
			return
		}
		if err := cmd.Flags().Set(f.Name, v); err != nil {
			errs = append(errs, fmt.Errorf("%s=%q: %w", EnvName(f.Name), v, err))
		}
	})
	return problem.Usage(errors.Join(errs...))
}

// NoArgs is the Args of a command that takes flags only: at the root an
// argument is an unknown command (with the commands it may have meant),
// elsewhere a stray argument.
func NoArgs(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	hint := fmt.Sprintf("Run '%s --help' for usage.", cmd.CommandPath())
	if !cmd.HasParent() {
		msg := fmt.Sprintf("unknown command %q", args[0])
		if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
			msg += "\n\nDid you mean this?\n\t" + strings.Join(s, "\n\t") + "\n"
		}
		return problem.Usage(WithHint(errors.New(msg), hint))
	}
	return problem.Usage(WithHint(fmt.Errorf("unexpected argument %q (%s takes flags only)", args[0], cmd.Name()), hint))
}

// FlagError turns a bad flag into a short usage error with a suggestion,
// not the command's whole flag list (cobra's FlagErrorFunc).
func FlagError(cmd *cobra.Command, err error) error {
	msg := err.Error()
	hint := fmt.Sprintf("Run '%s --help' for its flags.", cmd.CommandPath())
	if name, ok := strings.CutPrefix(msg, "unknown flag: --"); ok {
		if s := suggestFlag(cmd, name); s != "" {
			msg += fmt.Sprintf("\n\nDid you mean this?\n\t--%s\n", s)
		}
	} else if sh, ok := strings.CutPrefix(msg, "unknown shorthand flag: "); ok {
		// "'x' in -xyz": single-dash long flags as Go's flag package took them.
		if i := strings.Index(sh, " in -"); i >= 0 {
			name := strings.TrimPrefix(sh[i+len(" in "):], "-")
			name, _, _ = strings.Cut(name, "=")
			if cmd.Flags().Lookup(name) != nil {
				msg += fmt.Sprintf("\n\nFlags take two dashes: --%s\n", name)
			} else if s := suggestFlag(cmd, name); s != "" {
				msg += fmt.Sprintf("\n\nDid you mean this?\n\t--%s\n", s)
			}
		}
	}
	return problem.Usage(WithHint(errors.New(msg), hint))
}

// suggestFlag returns the visible flag of cmd closest to name, if close.
func suggestFlag(cmd *cobra.Command, name string) string {
	best, bestD := "", 3
	var names []string
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		if !f.Hidden {
			names = append(names, f.Name)
		}
	})
	sort.Strings(names)
	for _, n := range names {
		d := levenshtein(name, n)
		if strings.HasPrefix(n, name) && len(name) >= 3 {
			d = min(d, 1)
		}
		if d < bestD {
			best, bestD = n, d
		}
	}
	return best
}

func levenshtein(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// Version is ldflags (the -X main.version=... of a release build) if set,
// or else what the Go toolchain recorded: the module version (go install
// pkg@v1.2.3), or the commit and its time for a build from a checkout.
func Version(ldflags string) string {
	if ldflags != "" {
		return ldflags
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown (no build info)"
	}
	v := bi.Main.Version
	var rev, at string
	dirty := false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.time":
			at = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if v == "" || v == "(devel)" {
		v = "devel"
	}
	if rev != "" {
		if len(rev) > 12 {
			rev = rev[:12]
		}
		v += " " + rev
		if dirty {
			v += "-dirty"
		}
		if at != "" {
			v += " " + at
		}
	}
	return v + " " + bi.GoVersion
}

// NewLogger is the logger --log-format asks for, on w.
func NewLogger(format string, w io.Writer) (*slog.Logger, error) {
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, nil)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, nil)), nil
	}
	return nil, problem.Usage(fmt.Errorf("--log-format %q: want text or json", format))
}

// LogFormatFlag registers --log-format with its default.
func LogFormatFlag(fs *pflag.FlagSet, p *string, def string) {
	fs.StringVar(p, "log-format", def, "log and error format on stderr: text or json")
}

// Group files flags under a heading of their command's help ("Day" is
// printed "Day flags:"); flags in no group are listed under "Flags:".
func Group(fs *pflag.FlagSet, name string, flags ...string) {
	for _, f := range flags {
		if err := fs.SetAnnotation(f, "group", []string{name}); err != nil {
			panic(err)
		}
	}
}
