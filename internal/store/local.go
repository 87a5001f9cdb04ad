package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"github.com/parquetrail/parquetrail/internal/problem"
)

// tempPrefix marks files a local Create has not committed yet; listings
// skip them.
const tempPrefix = ".parquetrail-tmp-"

// local is a folder; keys are paths below it.
type local struct {
	root string // absolute, cleaned
}

func openLocal(path string) (Store, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("store: %q: %w", path, err)
	}
	if fi, err := os.Stat(abs); err == nil && !fi.IsDir() {
		return nil, fmt.Errorf("store: %s is a file, not a folder", abs)
	}
	return &local{root: abs}, nil
}

func (l *local) URL() string { return "file://" + filepath.ToSlash(l.root) }

func (l *local) url(key string) string { return l.URL() + "/" + key }

func (l *local) fail(op, key string, err error) error {
	return &Error{Op: op, URL: l.url(key), Err: err}
}

// path maps a key to its file, refusing keys that would leave the root.
func (l *local) path(key string) (string, error) {
	if !fs.ValidPath(key) || key == "." {
		return "", fmt.Errorf("invalid key %q", key)
	}
	return filepath.Join(l.root, filepath.FromSlash(key)), nil
}

// dirOf splits a listing prefix into the folder to read and the name prefix
// of its entries: "a/b/c" -> "a/b", "c"; "a/b/" -> "a/b", "".
func (l *local) dirOf(prefix string) (dir, namePrefix string, err error) {
	i := strings.LastIndex(prefix, "/")
	d, namePrefix := prefix[:i+1], prefix[i+1:]
	if d == "" {
		return l.root, namePrefix, nil
	}
	p, err := l.path(strings.TrimSuffix(d, "/"))
	return p, namePrefix, err
}

// entry is a directory entry in S3 key order: a folder sorts as its name
// plus "/" ("a.txt" < "a/" < "a0").
type entry struct {
	name  string
	isDir bool
	sort  string
}

// ErrOutsideRoot is the error of a symbolic link that leads out of a local
// store's folder: the store neither lists nor reads through it, so that a
// link in a source folder cannot make a run read (and copy into its output)
// files from elsewhere on the machine. Links that stay inside are followed.
var ErrOutsideRoot = errors.New("symbolic link leads outside the store's folder")

// inside checks that the file p, symbolic links resolved, lies under the
// root. A p that cannot be resolved is left to the caller's open to report.
func (l *local) inside(p string) error {
	resolved, err := filepath.EvalSymlinks(p)
	if err != nil {
		return nil
	}
	root := l.root
	if r, err := filepath.EvalSymlinks(root); err == nil {
		root = r
	}
	rel, err := filepath.Rel(root, resolved)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return problem.Usage(fmt.Errorf("%w: %s leads to %s", ErrOutsideRoot, p, resolved))
	}
	return nil
}

// readDir returns dir's entries in key order, without uncommitted files.
// A missing folder has no entries, as a prefix without objects has none.
// A link to a file outside the root fails the listing, naming it.
func (l *local) readDir(dir string) ([]entry, error) {
	des, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
			return nil, nil
		}
		return nil, err
	}
	out := make([]entry, 0, len(des))
	for _, de := range des {
		name := de.Name()
		if strings.HasPrefix(name, tempPrefix) {
			continue
		}
		isDir := de.IsDir()
		if de.Type()&fs.ModeSymlink != 0 {
			// Follow links to files; a link to a folder is not descended
			// into, so that a link cycle cannot make a listing endless.
			fi, err := os.Stat(filepath.Join(dir, name))
			if err != nil || fi.IsDir() {
				continue
			}
			if err := l.inside(filepath.Join(dir, name)); err != nil {
				return nil, err
			}
		}
		e := entry{name: name, isDir: isDir, sort: name}
		if isDir {
			e.sort += "/"
		}
		out = append(out, e)
	}
	slices.SortFunc(out, func(a, b entry) int { return strings.Compare(a.sort, b.sort) })
	return out, nil
}

func (l *local) List(ctx context.Context, prefix string, fn func(Object) error) error {
	dir, namePrefix, err := l.dirOf(prefix)
	if err != nil {
		return l.fail("list", prefix, err)
	}
	keyDir := prefix[:len(prefix)-len(namePrefix)]
	var walk func(dir, keyDir string, namePrefix string) error
	walk = func(dir, keyDir string, namePrefix string) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		entries, err := l.readDir(dir)
		if err != nil {
			return l.fail("list", keyDir, err)
		}
		for _, e := range entries {
			if !strings.HasPrefix(e.name, namePrefix) {
				continue
			}
			key := keyDir + e.name
			p := filepath.Join(dir, e.name)
			if e.isDir {
				if err := walk(p, key+"/", ""); err != nil {
					return err
				}
				continue
			}
			fi, err := os.Stat(p)
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					continue // deleted while listing
				}
				return l.fail("list", key, err)
			}
			if err := fn(Object{Key: key, Size: fi.Size(), Modified: fi.ModTime().UTC()}); err != nil {
				return err
			}
		}
		return nil
	}
	return walk(dir, keyDir, namePrefix)
}

func (l *local) ListDirs(ctx context.Context, prefix string) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	dir, namePrefix, err := l.dirOf(prefix)
	if err != nil {
		return nil, l.fail("list", prefix, err)
	}
	entries, err := l.readDir(dir)
	if err != nil {
		return nil, l.fail("list", prefix, err)
	}
	keyDir := prefix[:len(prefix)-len(namePrefix)]
	var out []string
	for _, e := range entries {
		if e.isDir && strings.HasPrefix(e.name, namePrefix) {
			out = append(out, keyDir+e.name+"/")
		}
	}
	return out, nil
}

// openRegular opens the file of key, which must be a regular file.
func (l *local) openRegular(op, key string) (*os.File, int64, error) {
	p, err := l.path(key)
	if err == nil {
		err = l.inside(p)
	}
	if err != nil {
		return nil, 0, l.fail(op, key, err)
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, 0, l.fail(op, key, unwrapPath(err))
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, l.fail(op, key, err)
	}
	if fi.IsDir() {
		f.Close()
		return nil, 0, l.fail(op, key, fmt.Errorf("a folder, not an object: %w", fs.ErrNotExist))
	}
	return f, fi.Size(), nil
}

// unwrapPath drops the *fs.PathError's path: Error already names the object.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

func (l *local) Open(_ context.Context, key string) (io.ReadCloser, error) {
	f, _, err := l.openRegular("open", key)
	if err != nil {
		return nil, err
	}
	return f, nil
}

// osFile is a File on an *os.File.
type osFile struct {
	*os.File
	size int64
}

func (f *osFile) Size() int64 { return f.size }

func (l *local) OpenFile(_ context.Context, key string) (File, error) {
	f, size, err := l.openRegular("open", key)
	if err != nil {
		return nil, err
	}
	return &osFile{File: f, size: size}, nil
}

func (l *local) Create(_ context.Context, key string) (Writer, error) {
	p, err := l.path(key)
	if err != nil {
		return nil, l.fail("create", key, err)
	}
	// The temporary file lives in the store's own folder (TempDir), never
	// beside the target: a killed writer must leave nothing in a partition
	// that engines read. Same file system as the target, so the rename on
	// Close stays atomic.
	tmpDir := filepath.Join(l.root, filepath.FromSlash(TempDir))
	var f *os.File
	// A concurrent writer may prune the folder between MkdirAll and
	// CreateTemp; try again then.
	for attempt := 0; ; attempt++ {
		if err = os.MkdirAll(tmpDir, 0o755); err == nil {
			f, err = os.CreateTemp(tmpDir, tempPrefix+"*")
		}
		if err == nil || attempt == 3 || !errors.Is(err, fs.ErrNotExist) {
			break
		}
	}
	if err != nil {
		return nil, l.fail("create", key, unwrapPath(err))
	}
	// The writer holds a lock on its temporary file until it closes it (the
	// kernel drops it when the process dies), so that CleanTemp can tell a
	// killed writer's leftover from a live writer's file. A file system
	// without flock leaves CleanTemp to the file's age.
	_ = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	return &localWriter{l: l, key: key, path: p, f: f}, nil
}

// localWriter writes a temporary file beside the target and renames it
// into place on Close, so readers see the whole object or none.
type localWriter struct {
	l    *local
	key  string
	path string
	f    *os.File
	done bool
}

func (w *localWriter) Write(b []byte) (int, error) {
	if w.done {
		return 0, w.l.fail("write", w.key, os.ErrClosed)
	}
	n, err := w.f.Write(b)
	if err != nil {
		return n, w.l.fail("write", w.key, unwrapPath(err))
	}
	return n, nil
}

func (w *localWriter) Close() error {
	if w.done {
		return nil
	}
	w.done = true
	tmp := w.f.Name()
	err := w.f.Sync()
	if cerr := w.f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp, 0o644) // CreateTemp makes 0600
	}
	// A concurrent Delete may prune the target's folder before the rename;
	// make it again then.
	for attempt := 0; err == nil; attempt++ {
		if err = os.MkdirAll(filepath.Dir(w.path), 0o755); err == nil {
			err = os.Rename(tmp, w.path)
		}
		if err == nil || attempt == 3 || !errors.Is(err, fs.ErrNotExist) {
			break
		}
		err = nil
	}
	w.l.prune(filepath.Dir(tmp))
	if err != nil {
		os.Remove(tmp)
		w.l.prune(filepath.Dir(tmp))
		w.l.prune(filepath.Dir(w.path))
		return w.l.fail("create", w.key, unwrapLink(err))
	}
	return nil
}

func unwrapLink(err error) error {
	var le *os.LinkError
	if errors.As(err, &le) {
		return le.Err
	}
	return unwrapPath(err)
}

func (w *localWriter) Abort() error {
	if w.done {
		return nil
	}
	w.done = true
	w.f.Close()
	if err := os.Remove(w.f.Name()); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return w.l.fail("abort", w.key, unwrapPath(err))
	}
	w.l.prune(filepath.Dir(w.f.Name()))
	w.l.prune(filepath.Dir(w.path))
	return nil
}

func (l *local) Delete(ctx context.Context, keys ...string) error {
	for _, key := range keys {
		if err := ctx.Err(); err != nil {
			return err
		}
		p, err := l.path(key)
		if err != nil {
			return l.fail("delete", key, err)
		}
		fi, err := os.Lstat(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err == nil && fi.IsDir() {
			continue // a folder is no object; S3 would find no such key either
		}
		if err == nil {
			err = os.Remove(p)
		}
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return l.fail("delete", key, unwrapPath(err))
		}
		l.prune(filepath.Dir(p))
	}
	return nil
}

// prune removes dir and its parents up to the root while they are empty,
// as S3 has no folders that outlive their objects.
func (l *local) prune(dir string) {
	for dir != l.root && strings.HasPrefix(dir, l.root+string(filepath.Separator)) {
		if os.Remove(dir) != nil {
			return // not empty (or gone): stop
		}
		dir = filepath.Dir(dir)
	}
}
