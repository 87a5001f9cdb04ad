package pqfile

import (
	"runtime/debug"
	"strings"
	"sync"
)

// Version is the program's release version, set by a main package from
// its -ldflags version before any file is written; empty means "take the
// module version from the build info".
var Version string

// CreatedBy is the created_by string of the files this package writes:
// "parquetrail version <v> (build <sha>)".
//
// The form matters: parquet-mr (and so Spark, Hive, Trino and Athena) parse
// created_by with the VersionParser rule `<application> version <version>
// (build <hash>)`, and when it does not parse they drop the min/max
// statistics of every BYTE_ARRAY column (the PARQUET-251 guard), so no row
// group is skipped on a string predicate. Older parquet-mr releases require
// the "(build ...)" part, so it is always written ("unknown" when the binary
// carries no VCS revision).
func CreatedBy() string { return createdBy() }

var createdBy = sync.OnceValue(func() string {
	v, rev := Version, ""
	if bi, ok := debug.ReadBuildInfo(); ok {
		if v == "" {
			v = bi.Main.Version
		}
		dirty := false
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				dirty = s.Value == "true"
			}
		}
		if rev != "" && dirty {
			rev += "-dirty"
		}
	}
	return formatCreatedBy(v, rev)
})

// formatCreatedBy builds the created_by string from a version and a VCS
// revision; either may be empty.
func formatCreatedBy(version, rev string) string {
	if version == "" || version == "(devel)" {
		version = "devel"
	}
	if rev == "" {
		rev = "unknown"
	}
	return "parquetrail version " + versionToken(version) + " (build " + versionToken(rev) + ")"
}

// versionToken keeps a version or revision one token that the parser
// cannot misread: no blanks, no parentheses.
func versionToken(s string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case ' ', '\t', '\n', '\r', '(', ')':
			return '-'
		}
		return r
	}, strings.TrimSpace(s))
}
