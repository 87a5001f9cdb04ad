// Package corpus locates the real-record CloudTrail corpus that travels with
// the repository (testdata/cloudtrail, with its README of sources and the
// licence texts), so that tests read it by a path relative to the module and
// never skip for want of it.
package corpus

import (
	"path/filepath"
	"runtime"
)

// Dir is the corpus folder: <module root>/testdata/cloudtrail.
func Dir() string {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return filepath.Join("testdata", "cloudtrail")
	}
	return filepath.Join(filepath.Dir(file), "..", "..", "testdata", "cloudtrail")
}

// Path joins elements under Dir.
func Path(elem ...string) string { return filepath.Join(append([]string{Dir()}, elem...)...) }
