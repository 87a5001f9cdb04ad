// Package flattentest holds test helpers for the flatten and merge
// packages: an in-memory object store whose objects can also be generated
// on the fly (to stream inputs larger than a test wants to hold).
package flattentest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/parquetrail/parquetrail/internal/store"
)

// MemStore is a store.Store in memory.
type MemStore struct {
	mu   sync.Mutex
	objs map[string][]byte
	gen  map[string]gen
}

type gen struct {
	size int64
	open func() io.Reader
}

// NewMemStore returns an empty store.
func NewMemStore() *MemStore {
	return &MemStore{objs: map[string][]byte{}, gen: map[string]gen{}}
}

// Put stores an object.
func (m *MemStore) Put(key string, data []byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.objs[key] = data
}

// Generate adds an object whose bytes open() produces anew on each Open.
func (m *MemStore) Generate(key string, size int64, open func() io.Reader) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.gen[key] = gen{size, open}
}

// Get returns an object's bytes.
func (m *MemStore) Get(key string) ([]byte, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.objs[key]
	return b, ok
}

// Keys lists the stored (not generated) keys under prefix, sorted.
func (m *MemStore) Keys(prefix string) []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var keys []string
	for k := range m.objs {
		if strings.HasPrefix(k, prefix) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys
}

// LoadDir stores every file under dir, keyed by its slash path below dir.
func (m *MemStore) LoadDir(dir string) error {
	return filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		m.Put(filepath.ToSlash(rel), b)
		return nil
	})
}

// Object returns the listing entry of key.
func (m *MemStore) Object(key string) store.Object {
	m.mu.Lock()
	defer m.mu.Unlock()
	if g, ok := m.gen[key]; ok {
		return store.Object{Key: key, Size: g.size}
	}
	return store.Object{Key: key, Size: int64(len(m.objs[key]))}
}

func (m *MemStore) List(ctx context.Context, prefix string, fn func(store.Object) error) error {
	for _, k := range m.Keys(prefix) {
		if err := fn(m.Object(k)); err != nil {
			return err
		}
	}
	return nil
}

func (m *MemStore) ListDirs(ctx context.Context, prefix string) ([]string, error) {
	seen := map[string]bool{}
	var out []string
	for _, k := range m.Keys(prefix) {
		rest := k[len(prefix):]
		if i := strings.IndexByte(rest, '/'); i >= 0 {
			d := prefix + rest[:i+1]
			if !seen[d] {
				seen[d] = true
				out = append(out, d)
			}
		}
	}
	return out, nil
}

func (m *MemStore) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if g, ok := m.gen[key]; ok {
		return io.NopCloser(g.open()), nil
	}
	b, ok := m.objs[key]
	if !ok {
		return nil, fmt.Errorf("open %s: %w", key, fs.ErrNotExist)
	}
	return io.NopCloser(bytes.NewReader(b)), nil
}

type file struct {
	*bytes.Reader
	size int64
}

func (f file) Close() error { return nil }
func (f file) Size() int64  { return f.size }

func (m *MemStore) OpenFile(ctx context.Context, key string) (store.File, error) {
	b, ok := m.Get(key)
	if !ok {
		return nil, fmt.Errorf("open %s: %w", key, fs.ErrNotExist)
	}
	return file{bytes.NewReader(b), int64(len(b))}, nil
}

type writer struct {
	m       *MemStore
	key     string
	buf     bytes.Buffer
	aborted bool
}

func (w *writer) Write(p []byte) (int, error) { return w.buf.Write(p) }

func (w *writer) Close() error {
	if !w.aborted {
		w.m.Put(w.key, bytes.Clone(w.buf.Bytes()))
		w.aborted = true
	}
	return nil
}

func (w *writer) Abort() error { w.aborted = true; return nil }

func (m *MemStore) Create(ctx context.Context, key string) (store.Writer, error) {
	return &writer{m: m, key: key}, nil
}

func (m *MemStore) Delete(ctx context.Context, keys ...string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, k := range keys {
		delete(m.objs, k)
	}
	return nil
}

func (m *MemStore) URL() string { return "mem://" }
