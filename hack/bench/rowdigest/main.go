// Command rowdigest sums up what a destination published, for make
// bench-scale to compare runs of the same day: for every partition with a
// manifest (proc_ymd=*/_manifest.json), the manifest's counts, the rows read
// back from its files with Apache Arrow's Parquet reader (a reader
// independent of the writer), and a SHA-256 of the (eventtime, eventid) of
// every row in the manifest's file order. Two runs of a day that publish the
// same events in the same order print the same digests, whatever the layout
// of their shards and merge ranges.
//
//	go run ./hack/bench/rowdigest DST
//
// It prints one JSON object: {"partitions": [...]}, one entry per partition
// in name order.
package main

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"math"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// manifest is the part of a partition's _manifest.json this reads.
type manifest struct {
	RunID      string `json:"runID"`
	Date       string `json:"date"`
	RowsIn     int64  `json:"rowsIn"`
	Rows       int64  `json:"rows"`
	Duplicates int64  `json:"duplicates"`
	LateRows   int64  `json:"lateRows"`
	Files      []struct {
		Key  string `json:"key"`
		Rows int64  `json:"rows"`
	} `json:"files"`
}

// partition is what rowdigest prints of one partition.
type partition struct {
	Name string `json:"name"`
	// From the manifest.
	RunID         string `json:"runID"`
	Files         int    `json:"files"`
	ManifestRows  int64  `json:"manifestRows"`
	RowsIn        int64  `json:"rowsIn"`
	Duplicates    int64  `json:"duplicates"`
	LateRows      int64  `json:"lateRows"`
	FileRowsTotal int64  `json:"fileRowsTotal"` // the sum of the files' rows in the manifest
	// From the files.
	RowsRead int64  `json:"rowsRead"`
	NullIDs  int64  `json:"nullEventIDs"`
	SHA256   string `json:"sha256"`
	// Ordered: (eventtime, eventid) never decreases from one row to the
	// next across the partition's files, nulls first among equal times.
	Ordered     bool    `json:"ordered"`
	MinTime     string  `json:"minEventTime,omitempty"`
	MaxTime     string  `json:"maxEventTime,omitempty"`
	ReadSeconds float64 `json:"readSeconds"`
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: rowdigest DST")
		os.Exit(2)
	}
	dst := os.Args[1]
	paths, err := filepath.Glob(filepath.Join(dst, "proc_ymd=*", "_manifest.json"))
	if err != nil {
		fail(err)
	}
	sort.Strings(paths)
	out := struct {
		Partitions []partition `json:"partitions"`
	}{Partitions: []partition{}}
	for _, p := range paths {
		part, err := digest(dst, p)
		if err != nil {
			fail(fmt.Errorf("%s: %w", p, err))
		}
		out.Partitions = append(out.Partitions, part)
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "rowdigest:", err)
	os.Exit(1)
}

// digest reads one partition's manifest and its files.
func digest(dst, manifestPath string) (partition, error) {
	start := time.Now()
	b, err := os.ReadFile(manifestPath)
	if err != nil {
		return partition{}, err
	}
	var m manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return partition{}, err
	}
	p := partition{
		Name:         filepath.Base(filepath.Dir(manifestPath)),
		RunID:        m.RunID,
		Files:        len(m.Files),
		ManifestRows: m.Rows,
		RowsIn:       m.RowsIn,
		Duplicates:   m.Duplicates,
		LateRows:     m.LateRows,
		Ordered:      true,
	}
	h := sha256.New()
	var st state
	for _, f := range m.Files {
		p.FileRowsTotal += f.Rows
		n, err := readFile(filepath.Join(dst, filepath.FromSlash(f.Key)), h, &st, &p)
		if err != nil {
			return partition{}, fmt.Errorf("%s: %w", f.Key, err)
		}
		if n != f.Rows {
			return partition{}, fmt.Errorf("%s: %d rows read, the manifest says %d", f.Key, n, f.Rows)
		}
		p.RowsRead += n
	}
	p.SHA256 = hex.EncodeToString(h.Sum(nil))
	if st.seen {
		p.MinTime = time.UnixMicro(st.min).UTC().Format(time.RFC3339Nano)
		p.MaxTime = time.UnixMicro(st.max).UTC().Format(time.RFC3339Nano)
	}
	p.ReadSeconds = math.Round(time.Since(start).Seconds()*100) / 100
	return p, nil
}

// state carries the previous row across files, for the order check.
type state struct {
	seen     bool
	min, max int64 // microseconds
	prevTime int64
	prevNull bool
	prevID   []byte
}

// readFile feeds the (eventtime, eventid) of every row of one Parquet file
// to h and returns the rows read.
func readFile(path string, h hash.Hash, st *state, p *partition) (int64, error) {
	rdr, err := file.OpenParquetFile(path, false)
	if err != nil {
		return 0, err
	}
	defer rdr.Close()
	sc := rdr.MetaData().Schema
	timeCol, idCol := sc.ColumnIndexByName("eventtime"), sc.ColumnIndexByName("eventid")
	if timeCol < 0 || idCol < 0 {
		return 0, fmt.Errorf("no eventtime or eventid column")
	}
	fr, err := pqarrow.NewFileReader(rdr, pqarrow.ArrowReadProperties{BatchSize: 1 << 16}, memory.DefaultAllocator)
	if err != nil {
		return 0, err
	}
	rr, err := fr.GetRecordReader(context.Background(), []int{timeCol, idCol}, nil)
	if err != nil {
		return 0, err
	}
	defer rr.Release()
	var n int64
	var buf [13]byte
	for rr.Next() {
		rec := rr.RecordBatch()
		ti := rec.Schema().FieldIndices("eventtime")
		ii := rec.Schema().FieldIndices("eventid")
		if len(ti) != 1 || len(ii) != 1 {
			return n, fmt.Errorf("eventtime or eventid missing from the record batch")
		}
		times, ok := rec.Column(ti[0]).(*array.Timestamp)
		if !ok {
			return n, fmt.Errorf("eventtime is %s, not a timestamp", rec.Column(ti[0]).DataType())
		}
		toMicro, err := microseconds(times.DataType().(*arrow.TimestampType).Unit)
		if err != nil {
			return n, err
		}
		ids := rec.Column(ii[0])
		for i := 0; i < int(rec.NumRows()); i++ {
			if times.IsNull(i) {
				return n, fmt.Errorf("row %d: null eventtime", n)
			}
			t := toMicro(int64(times.Value(i)))
			var id []byte
			null := ids.IsNull(i)
			if !null {
				switch a := ids.(type) {
				case *array.String:
					id = []byte(a.Value(i))
				case *array.Binary:
					id = a.Value(i)
				default:
					return n, fmt.Errorf("eventid is %s, not a string", ids.DataType())
				}
			} else {
				p.NullIDs++
			}
			binary.BigEndian.PutUint64(buf[:8], uint64(t))
			buf[8] = 0
			if null {
				buf[8] = 1
			}
			binary.BigEndian.PutUint32(buf[9:], uint32(len(id)))
			h.Write(buf[:])
			h.Write(id)
			if st.seen && less(t, id, null, st.prevTime, st.prevID, st.prevNull) {
				p.Ordered = false
			}
			if !st.seen || t < st.min {
				st.min = t
			}
			if !st.seen || t > st.max {
				st.max = t
			}
			st.seen, st.prevTime, st.prevNull = true, t, null
			st.prevID = append(st.prevID[:0], id...)
			n++
		}
	}
	return n, rr.Err()
}

// less tells whether (t, id) sorts before the previous row's (pt, pid): by
// time, then by eventid with a null eventid first.
func less(t int64, id []byte, null bool, pt int64, pid []byte, pnull bool) bool {
	if t != pt {
		return t < pt
	}
	if null || pnull {
		return null && !pnull
	}
	return string(id) < string(pid)
}

func microseconds(u arrow.TimeUnit) (func(int64) int64, error) {
	switch u {
	case arrow.Second:
		return func(v int64) int64 { return v * 1e6 }, nil
	case arrow.Millisecond:
		return func(v int64) int64 { return v * 1e3 }, nil
	case arrow.Microsecond:
		return func(v int64) int64 { return v }, nil
	case arrow.Nanosecond:
		return func(v int64) int64 { return v / 1e3 }, nil
	}
	return nil, fmt.Errorf("unknown time unit %v", u)
}
