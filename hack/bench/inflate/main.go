// Command inflate is the benchmark's inflate floor in Go: it gunzips every
// event-log file (*_CloudTrail_*.json.gz) under a trail folder with
// klauspost/compress, the decompressor shard-worker uses, and discards the
// output. Run it on one core (taskset, GOMAXPROCS=1) and time it: no
// converter of the day can spend less CPU than inflating its input.
//
//	go run ./hack/bench/inflate DIR
package main

import (
	"bufio"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/klauspost/compress/gzip"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: inflate DIR")
		os.Exit(2)
	}
	start := time.Now()
	var files int
	var in, out int64
	zr := new(gzip.Reader)
	err := filepath.WalkDir(os.Args[1], func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.Contains(d.Name(), "_CloudTrail_") || !strings.HasSuffix(d.Name(), ".json.gz") {
			return err
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		br := bufio.NewReaderSize(f, 1<<20)
		if err := zr.Reset(br); err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		n, err := io.Copy(io.Discard, zr)
		if err != nil {
			return fmt.Errorf("%s: byte %d: %w", p, n, err)
		}
		st, _ := f.Stat()
		files, in, out = files+1, in+st.Size(), out+n
		return nil
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "inflate:", err)
		os.Exit(1)
	}
	fmt.Printf(`{"tool":"klauspost/compress","files":%d,"gzipBytes":%d,"jsonBytes":%d,"seconds":%.3f}`+"\n", files, in, out, time.Since(start).Seconds())
}
