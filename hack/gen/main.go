// Command gen writes a generated day of CloudTrail logs (package
// internal/sample) to a local folder, in the trail's key layout:
//
//	go run ./hack/gen --out DIR --preset reference|demo [--seed N] [--records N]
//
// When DIR already holds the same day (its stamp file, parquetrail-sample.json,
// names the same generator version and options) nothing is written, so
// repeated benchmarks reuse it. A folder holding another generated day is
// replaced (its AWSLogs/ tree and stamp are removed first); a folder that
// gen did not write is refused unless --force.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"os/signal"
	"path/filepath"
	"time"

	"github.com/parquetrail/parquetrail/internal/sample"
)

// StampName is the file gen writes last into the folder it filled.
const StampName = "parquetrail-sample.json"

type stamp struct {
	Version string         `json:"version"`
	Preset  string         `json:"preset"`
	Options sample.Options `json:"options"`
	Stats   sample.Stats   `json:"stats"`
	Seconds float64        `json:"seconds"` // generation wall time
}

func main() {
	out := flag.String("out", "", "folder to write the day to (required)")
	preset := flag.String("preset", "demo", "reference or demo")
	seed := flag.Int64("seed", 0, "seed (default: the preset's)")
	records := flag.Int("records", 0, "distinct generated records (default: the preset's)")
	date := flag.String("date", "", "local date YYYY-MM-DD (default: the preset's)")
	zone := flag.String("time-zone", "", "IANA time zone of the date (default: the preset's)")
	files := flag.Int("files", 0, "approximate number of log files (default: the preset's, scaled with --records)")
	parallel := flag.Int("parallel", 0, "files built at once (default: GOMAXPROCS; does not change the output)")
	force := flag.Bool("force", false, "write into a non-empty folder that gen did not write")
	asJSON := flag.Bool("json", false, "print the stamp (options and stats) as JSON")
	flag.Parse()
	if *out == "" || flag.NArg() > 0 {
		flag.Usage()
		os.Exit(2)
	}
	opts, err := sample.Preset(*preset)
	if err != nil {
		fatal(err)
	}
	if *seed != 0 {
		opts.Seed = *seed
	}
	if *records > 0 {
		if *files == 0 && opts.Files > 0 {
			opts.Files = max(1, int(int64(opts.Files)*int64(*records)/int64(opts.Records)))
		}
		opts.Records = *records
	}
	if *files > 0 {
		opts.Files = *files
	}
	if *date != "" {
		opts.Date = *date
	}
	if *zone != "" {
		opts.TimeZone = *zone
	}
	want := stamp{Version: sample.Version, Preset: *preset, Options: opts}

	if st, ok := readStamp(*out); ok && sameDay(st, want) {
		report(st, true, *asJSON)
		return
	}
	if err := prepare(*out, *force); err != nil {
		fatal(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	opts.Parallelism = *parallel
	start := time.Now()
	stats, err := sample.Generate(ctx, opts, sample.Dir(*out))
	if err != nil {
		fatal(err)
	}
	want.Stats = stats
	want.Seconds = time.Since(start).Seconds()
	data, err := json.MarshalIndent(want, "", "  ")
	if err != nil {
		fatal(err)
	}
	if err := sample.Dir(*out).Put(StampName, append(data, '\n')); err != nil {
		fatal(err)
	}
	report(want, false, *asJSON)
}

func readStamp(dir string) (stamp, bool) {
	data, err := os.ReadFile(filepath.Join(dir, StampName))
	if err != nil {
		return stamp{}, false
	}
	var st stamp
	if json.Unmarshal(data, &st) != nil {
		return stamp{}, false
	}
	return st, true
}

func sameDay(a, b stamp) bool {
	ja, _ := json.Marshal(a.Options)
	jb, _ := json.Marshal(b.Options)
	return a.Version == b.Version && bytes.Equal(ja, jb)
}

// prepare empties a folder gen wrote before, and refuses one it did not.
func prepare(dir string, force bool) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) || (err == nil && len(entries) == 0) {
		return os.MkdirAll(dir, 0o755)
	}
	if err != nil {
		return err
	}
	if _, ok := readStamp(dir); ok {
		// Stamp first: a folder without it is never taken for a complete day.
		if err := os.Remove(filepath.Join(dir, StampName)); err != nil {
			return err
		}
		return os.RemoveAll(filepath.Join(dir, "AWSLogs"))
	}
	if !force {
		return fmt.Errorf("%s is not empty and holds no day written by gen (%s); use --force to write into it anyway", dir, StampName)
	}
	return nil
}

func report(st stamp, reused bool, asJSON bool) {
	if asJSON {
		data, _ := json.MarshalIndent(st, "", "  ")
		fmt.Println(string(data))
		return
	}
	s := st.Stats
	how := fmt.Sprintf("generated in %.1f s", st.Seconds)
	if reused {
		how = "already there (" + StampName + " matches), reused"
	}
	fmt.Printf("%s day %s %s seed %d: %s\n", st.Preset, st.Options.Date, st.Options.TimeZone, st.Options.Seed, how)
	fmt.Printf("  objects    %d (log files %d, late %d; digests %d; other %d)\n", s.Objects, s.LogFiles, s.LateFiles, s.DigestFiles, s.OtherObjects)
	fmt.Printf("  records    %d (generated %d, duplicates %d, verbatim %d, malformed %d)\n", s.Records, s.Generated, s.Duplicates, s.Verbatim, s.Malformed)
	fmt.Printf("  window     %s .. %s: %d records in it, %d outside; %d rows after dropping %d duplicate eventIDs\n",
		s.WindowStart.Format(time.RFC3339), s.WindowEnd.Format(time.RFC3339), s.InWindow, s.OutOfWindow, s.Rows, s.InWindowDuplicates)
	fmt.Printf("  delivered  %s .. %s\n", s.FirstDelivery.Format(time.RFC3339), s.LastDelivery.Format(time.RFC3339))
	fmt.Printf("  JSON bytes %d (%.1f MB)\n", s.JSONBytes, float64(s.JSONBytes)/1e6)
	fmt.Printf("  gz bytes   %d (%.1f MB)\n", s.GzipBytes, float64(s.GzipBytes)/1e6)
	for _, p := range s.Problems {
		fmt.Printf("  bad input  %s\n", p.Error())
	}
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "gen:", err)
	os.Exit(1)
}
