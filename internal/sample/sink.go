package sample

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
)

// Sink receives the generated objects by key (slash-separated, relative to
// the trail bucket's root).
//
// Generate calls Put from several goroutines at once; data is only valid
// during the call (the generator reuses its buffers), so a Sink that keeps
// it must copy it.
type Sink interface {
	Put(key string, data []byte) error
}

// Dir is a Sink writing each object to the file <Dir>/<key>. An object
// appears complete or not at all (written to a temporary file, then renamed).
type Dir string

// Put writes one object.
func (d Dir) Put(key string, data []byte) error {
	if key == "" || strings.HasPrefix(key, "/") || strings.HasSuffix(key, "/") {
		return fmt.Errorf("sample: bad object key %q", key)
	}
	for _, seg := range strings.Split(key, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return fmt.Errorf("sample: bad object key %q", key)
		}
	}
	path := filepath.Join(string(d), filepath.FromSlash(key))
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".put-*")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// Memory is a Sink keeping the objects in memory, for tests.
type Memory struct {
	mu      sync.Mutex
	objects map[string][]byte
}

// Put stores a copy of data under key.
func (m *Memory) Put(key string, data []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.objects == nil {
		m.objects = map[string][]byte{}
	}
	if _, ok := m.objects[key]; ok {
		return fmt.Errorf("sample: object %s written twice", key)
	}
	m.objects[key] = append([]byte(nil), data...)
	return nil
}

// Keys returns the stored keys in order.
func (m *Memory) Keys() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	keys := make([]string, 0, len(m.objects))
	for k := range m.objects {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Get returns the object stored under key.
func (m *Memory) Get(key string) ([]byte, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.objects[key]
	return b, ok
}
