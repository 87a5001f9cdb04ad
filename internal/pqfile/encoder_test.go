package pqfile_test

import (
	"bytes"
	"fmt"
	"sync"
	"testing"

	"github.com/parquetrail/parquetrail/internal/pqfile"
	"github.com/parquetrail/parquetrail/internal/record"
)

// TestEncoderWritesWhatAppendBatchWrites: batches given to an Encoder, with
// any number of workers and batches in flight, make the same bytes as the
// same batches appended one at a time, over several row groups; every
// batch comes back through done exactly once.
func TestEncoderWritesWhatAppendBatchWrites(t *testing.T) {
	s, err := record.NewSchema(record.Full, "")
	if err != nil {
		t.Fatal(err)
	}
	rows := randomRows(s, 2400, 3)
	batches := func() []*pqfile.Batch {
		var out []*pqfile.Batch
		for k := 0; k < len(rows); k += 300 {
			b := pqfile.NewBatch(s, 1<<20)
			for _, r := range rows[k : k+300] {
				b.Append(r)
			}
			out = append(out, b)
		}
		return out
	}
	const perGroup = 3 // batches per row group
	write := func(add func(w *pqfile.FileWriter, bs []*pqfile.Batch) error) []byte {
		var buf bytes.Buffer
		w, err := pqfile.NewFileWriter(&buf, s, pqfile.Snappy, nil)
		if err != nil {
			t.Fatal(err)
		}
		w.SetPageOptions(pqfile.StagingPages)
		if err := add(w, batches()); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	want := write(func(w *pqfile.FileWriter, bs []*pqfile.Batch) error {
		for i, b := range bs {
			if err := w.AppendBatch(b, false, 2); err != nil {
				return err
			}
			if i%perGroup == perGroup-1 {
				if err := w.EndRowGroup(); err != nil {
					return err
				}
			}
		}
		return w.EndRowGroup()
	})
	for _, workers := range []int{1, 2, 5} {
		for _, depth := range []int{1, 2, 4} {
			t.Run(fmt.Sprintf("%d workers, %d batches", workers, depth), func(t *testing.T) {
				var mu sync.Mutex
				back := map[*pqfile.Batch]int{}
				var given []*pqfile.Batch
				got := write(func(w *pqfile.FileWriter, bs []*pqfile.Batch) error {
					given = bs
					e := w.NewEncoder(workers, depth, func(b *pqfile.Batch) {
						mu.Lock()
						back[b]++
						mu.Unlock()
					})
					for i, b := range bs {
						if err := e.Add(b, false); err != nil {
							return err
						}
						if i%perGroup == perGroup-1 {
							if err := e.Flush(); err != nil {
								return err
							}
							if err := w.EndRowGroup(); err != nil {
								return err
							}
						}
					}
					if err := e.Flush(); err != nil {
						return err
					}
					if err := w.EndRowGroup(); err != nil {
						return err
					}
					return e.Stop()
				})
				if !bytes.Equal(got, want) {
					t.Fatalf("the encoder wrote %d bytes that differ from AppendBatch's %d", len(got), len(want))
				}
				for _, b := range given {
					if back[b] != 1 {
						t.Fatalf("a batch came back %d times", back[b])
					}
				}
			})
		}
	}
}
