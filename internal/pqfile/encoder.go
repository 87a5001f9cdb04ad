package pqfile

import (
	"errors"
	"fmt"
	"sync"
)

// An Encoder appends batches to a FileWriter's open row group on worker
// goroutines, column by column, without waiting between batches: a worker
// takes the next batch of any column that no other worker holds, so that
// while one large column of a batch is encoded the others go on with the
// batches after it. (AppendBatch encodes one batch at a time, and its
// slowest column leaves the other workers idle: on the reference day the
// merge's writer used 1.2 of 2 cores.) A column still takes the batches in
// order, so its pages are those AppendBatch writes.
//
// Add queues a batch (up to depth at once); done is called with each batch
// once all its columns are encoded (its memory may then be reused), on a
// worker goroutine. Flush waits for every queued batch: call it
// before EndRowGroup or Close. Stop ends the workers.
type Encoder struct {
	fw    *FileWriter
	depth int
	done  func(*Batch)

	mu     sync.Mutex
	cond   *sync.Cond
	queue  []*queued
	next   []int  // per column: its next batch, an index into queue
	busy   []bool // per column: a worker holds it
	err    error
	closed bool
	wg     sync.WaitGroup
}

type queued struct {
	b    *Batch
	base int64 // the batch's first row in the row group
	left int   // columns not encoded yet
}

// NewEncoder starts workers goroutines encoding into fw, holding at most
// depth batches.
func (fw *FileWriter) NewEncoder(workers, depth int, done func(*Batch)) *Encoder {
	if len(fw.chunks) != len(fw.leaves) {
		fw.chunks = make([]chunk, len(fw.leaves))
	}
	e := &Encoder{fw: fw, depth: max(depth, 1), done: done,
		next: make([]int, len(fw.leaves)), busy: make([]bool, len(fw.leaves))}
	e.cond = sync.NewCond(&e.mu)
	fw.workers = workers
	for range max(1, min(workers, len(fw.leaves))) {
		e.wg.Add(1)
		go e.work()
	}
	return e
}

// Add queues batch b, sorting it first unless sorted says it is; it waits
// while depth batches are queued. It returns the first encoding error.
func (e *Encoder) Add(b *Batch, sorted bool) error {
	if b.n == 0 {
		e.done(b)
		return nil
	}
	if sorted {
		b.identity()
	} else {
		b.Sort()
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for len(e.queue) >= e.depth && e.err == nil {
		e.cond.Wait()
	}
	if e.err != nil {
		return e.err
	}
	if e.closed || e.fw.closed {
		return errors.New("parquet encoder is stopped")
	}
	e.queue = append(e.queue, &queued{b: b, base: e.fw.rgRows, left: len(e.fw.leaves)})
	e.fw.rgRows += int64(b.n)
	e.cond.Broadcast()
	return nil
}

// Flush waits until every queued batch is encoded and returns the first
// encoding error.
func (e *Encoder) Flush() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	for len(e.queue) > 0 && e.err == nil {
		e.cond.Wait()
	}
	return e.err
}

// Stop ends the workers once the batches being encoded are; batches still
// queued are given to done without being encoded. It returns the first
// encoding error.
func (e *Encoder) Stop() error {
	e.mu.Lock()
	e.closed = true
	e.cond.Broadcast()
	e.mu.Unlock()
	e.wg.Wait()
	for _, q := range e.queue {
		e.done(q.b)
	}
	e.queue = nil
	return e.err
}

// take returns a column whose next batch is queued and that no worker
// holds, the one with the most bytes to encode; ok is false when there is
// none.
func (e *Encoder) take() (col int, q *queued, ok bool) {
	best := -1
	for i, k := range e.next {
		if e.busy[i] || k >= len(e.queue) {
			continue
		}
		if w := e.fw.leafBytes(e.queue[k].b, e.fw.leaves[i]); best < 0 || w > best {
			best, col, q = w, i, e.queue[k]
		}
	}
	return col, q, best >= 0
}

func (e *Encoder) work() {
	defer e.wg.Done()
	sc := scratches.Get().(*scratch)
	defer scratches.Put(sc)
	e.mu.Lock()
	defer e.mu.Unlock()
	for {
		i, q, ok := e.take()
		for !ok && !e.closed && e.err == nil {
			e.cond.Wait()
			i, q, ok = e.take()
		}
		if !ok || e.err != nil {
			return
		}
		e.busy[i] = true
		e.mu.Unlock()
		err := e.fw.encodeColumn(&e.fw.chunks[i], q.b, e.fw.leaves[i], sc, q.base)
		sc.trim(e.fw.page)
		e.mu.Lock()
		e.busy[i] = false
		e.next[i]++
		q.left--
		if err != nil && e.err == nil {
			e.err = fmt.Errorf("column %s: %w", e.fw.s.Columns[e.fw.leaves[i].col].Name, err)
		}
		// Batches whose columns are all done leave the queue, in order.
		var out []*Batch
		for len(e.queue) > 0 && e.queue[0].left == 0 {
			out = append(out, e.queue[0].b)
			e.queue = e.queue[1:]
			for c := range e.next {
				e.next[c]--
			}
		}
		e.cond.Broadcast()
		if len(out) > 0 {
			e.mu.Unlock()
			for _, b := range out {
				e.done(b)
			}
			e.mu.Lock()
		}
	}
}
