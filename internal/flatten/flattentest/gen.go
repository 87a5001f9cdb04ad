package flattentest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"github.com/parquetrail/parquetrail/internal/corpus"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
)

// Gen makes CloudTrail log documents out of real record shapes: records of
// the shared corpus with new eventIDs and eventTimes, compact like the
// files a trail delivers.
type Gen struct {
	tmpl []tmpl
	rnd  *rand.Rand
}

// tmpl is a compact record split around its eventTime and eventID values.
type tmpl struct {
	parts   [3][]byte
	idFirst bool
}

// TestData is the repository's CloudTrail corpus.
func TestData() string { return corpus.Dir() }

// NewGen loads templates from the corpus files named (relative to root).
func NewGen(root string, seed uint64, files ...string) (*Gen, error) {
	if len(files) == 0 {
		files = []string{"records/stratus-red-team.json", "records/panther-analysis-head.json"}
	}
	g := &Gen{rnd: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			return nil, err
		}
		var doc struct{ Records []map[string]any }
		if err := json.Unmarshal(b, &doc); err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		for _, r := range doc.Records {
			if _, ok := r["eventTime"].(string); !ok {
				continue
			}
			delete(r, "eventId")
			r["eventTime"] = "\x01"
			r["eventID"] = "\x02"
			c, err := json.Marshal(r)
			if err != nil {
				return nil, err
			}
			s := string(c)
			i, j := strings.Index(s, `"\u0001"`), strings.Index(s, `"\u0002"`)
			if i < 0 || j < 0 {
				continue
			}
			tp := tmpl{idFirst: j < i}
			lo, hi := min(i, j), max(i, j)
			tp.parts = [3][]byte{[]byte(s[:lo]), []byte(s[lo+8 : hi]), []byte(s[hi+8:])}
			g.tmpl = append(g.tmpl, tp)
		}
	}
	if len(g.tmpl) == 0 {
		return nil, fmt.Errorf("no templates")
	}
	return g, nil
}

// Record appends one record with the given time and id.
func (g *Gen) Record(dst []byte, t time.Time, id string) []byte {
	tp := g.tmpl[g.rnd.IntN(len(g.tmpl))]
	putTime := func(dst []byte) []byte {
		dst = append(dst, '"')
		dst = t.UTC().AppendFormat(dst, "2006-01-02T15:04:05Z")
		return append(dst, '"')
	}
	putID := func(dst []byte) []byte {
		dst = append(dst, '"')
		dst = append(dst, id...)
		return append(dst, '"')
	}
	dst = append(dst, tp.parts[0]...)
	if tp.idFirst {
		dst = putID(dst)
	} else {
		dst = putTime(dst)
	}
	dst = append(dst, tp.parts[1]...)
	if tp.idFirst {
		dst = putTime(dst)
	} else {
		dst = putID(dst)
	}
	return append(dst, tp.parts[2]...)
}

// ID returns a random UUID-shaped event id.
func (g *Gen) ID() string {
	a, b := g.rnd.Uint64(), g.rnd.Uint64()
	return fmt.Sprintf("%08x-%04x-%04x-%04x-%012x", uint32(a>>32), uint16(a>>16), uint16(a), uint16(b>>48), b&0xffffffffffff)
}

// Doc writes a document of n records with times uniform in [from, from+span).
func (g *Gen) Doc(n int, from time.Time, span time.Duration) []byte {
	var b bytes.Buffer
	g.WriteDoc(&b, n, from, span)
	return b.Bytes()
}

// WriteDoc streams a document of n records to w.
func (g *Gen) WriteDoc(w io.Writer, n int, from time.Time, span time.Duration) error {
	buf := []byte(`{"Records":[`)
	for i := 0; i < n; i++ {
		if i > 0 {
			buf = append(buf, ',')
		}
		t := from.Add(time.Duration(g.rnd.Int64N(int64(span))))
		buf = g.Record(buf, t, g.ID())
		if len(buf) > 64<<10 {
			if _, err := w.Write(buf); err != nil {
				return err
			}
			buf = buf[:0]
		}
	}
	buf = append(buf, `]}`...)
	_, err := w.Write(buf)
	return err
}

// Gzip compresses b.
func Gzip(b []byte) []byte {
	var out bytes.Buffer
	zw := gzip.NewWriter(&out)
	zw.Write(b)
	zw.Close()
	return out.Bytes()
}

// StreamDoc returns a reader that generates a document of n records as it
// is read, gzipped when gz is set, without holding it.
func (g *Gen) StreamDoc(n int, from time.Time, span time.Duration, gz bool) io.Reader {
	pr, pw := io.Pipe()
	go func() {
		var w io.Writer = pw
		var zw *gzip.Writer
		if gz {
			zw, _ = gzip.NewWriterLevel(pw, gzip.BestSpeed)
			w = zw
		}
		err := g.WriteDoc(w, n, from, span)
		if zw != nil && err == nil {
			err = zw.Close()
		}
		pw.CloseWithError(err)
	}()
	return pr
}

// Gunzip decompresses b.
func Gunzip(b []byte) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	return io.ReadAll(zr)
}

// BenchDoc is the benchmarks' document: 20,000 records of the corpus's
// shapes over one day, compact like a delivered file.
func BenchDoc(tb testing.TB) []byte {
	tb.Helper()
	g, err := NewGen(TestData(), 1)
	if err != nil {
		tb.Fatal(err)
	}
	return g.Doc(20000, time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC), 24*time.Hour)
}
