package store

// Conditional operations: what the commit protocol of a day
// (internal/commit) needs beyond Store to be exclusive and crash-consistent.
//
//   - ReadVersion reads a small object with its version: the ETag on S3, a
//     SHA-256 of the content on a local folder.
//   - PutIf writes a small object only if the current version is the one
//     given ("" = only if absent). S3: PutObject with If-None-Match: * or
//     If-Match: <etag>, which S3 evaluates atomically. Local: the compare and
//     the rename happen under an flock(2) on one lock file of the store, which
//     the kernel drops when the process dies, so a killed run never leaves a
//     lock behind.
//   - Copy copies an object inside the store: S3 CopyObject (server-side, no
//     bytes through the client); locally a hard link (same file system, so
//     cheap and atomic), renamed into place.
//   - CleanTemp removes what a killed local writer left in the store's
//     temporary folder.
//
// A lost condition is ErrPrecondition, whatever the store.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
)

// ErrPrecondition says a conditional write found another version than the
// one it was given: someone else wrote (or removed) the object first.
var ErrPrecondition = errors.New("precondition failed: the object changed")

// MaxSmallObject bounds what ReadVersion reads: leases, journals and
// manifests are kilobytes to a few MB.
const MaxSmallObject = 64 << 20

// TempDir is where a local store writes objects before renaming them into
// place: outside every partition, and on the root's file system so that the
// rename stays atomic.
const TempDir = "_parquetrail/tmp"

// casLock is the file a local PutIf locks; listings skip it (temp prefix).
const casLock = tempPrefix + "cas.lock"

// ReadVersion reads a small object and its version. A missing object gives
// an error for which IsNotExist holds.
func ReadVersion(ctx context.Context, st Store, key string) ([]byte, string, error) {
	switch s := st.(type) {
	case *s3Store:
		return s.readVersion(ctx, key)
	case *local:
		return s.readVersion(key)
	}
	return nil, "", unsupported(st)
}

// PutIf writes body under key if the object's version is ifVersion, or, when
// ifVersion is "", if there is no such object. It returns the new version.
func PutIf(ctx context.Context, st Store, key string, body []byte, ifVersion string) (string, error) {
	switch s := st.(type) {
	case *s3Store:
		return s.putIf(ctx, key, body, ifVersion)
	case *local:
		return s.putIf(ctx, key, body, ifVersion)
	}
	return "", unsupported(st)
}

// Copy copies the object src to dst (replacing dst) inside the store.
func Copy(ctx context.Context, st Store, src, dst string) error {
	switch s := st.(type) {
	case *s3Store:
		return s.copy(ctx, src, dst)
	case *local:
		return s.copy(ctx, src, dst)
	}
	return unsupported(st)
}

// CleanTemp removes the local store's temporary files that no live writer
// holds (a writer locks its file until it closes it), and any untouched for
// longer than olderThan (on a file system without flock); an S3 store has
// none (an upload is invisible until complete). It returns how many it
// removed.
func CleanTemp(st Store, olderThan time.Duration) (int, error) {
	l, ok := st.(*local)
	if !ok {
		return 0, nil
	}
	dir := filepath.Join(l.root, filepath.FromSlash(TempDir))
	des, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return 0, nil
		}
		return 0, l.fail("clean", TempDir, unwrapPath(err))
	}
	n := 0
	for _, de := range des {
		if !strings.HasPrefix(de.Name(), tempPrefix) || de.Name() == casLock {
			continue // the lock file must stay: a holder's flock is on its inode
		}
		fi, err := de.Info()
		if err != nil {
			continue
		}
		path := filepath.Join(dir, de.Name())
		switch age := time.Since(fi.ModTime()); {
		case age >= olderThan:
		case age >= tempGrace && !tempHeld(path):
			// Its writer is gone (a live one holds its lock): a killed
			// run's leftover, removed now rather than after olderThan.
		default:
			continue
		}
		if os.Remove(path) == nil {
			n++
		}
	}
	return n, nil
}

// tempGrace covers the moment between a writer creating its temporary file
// and locking it.
const tempGrace = time.Second

// tempHeld reports whether a live writer holds the temporary file at path
// (or whether that cannot be told: then the file is left to its age).
func tempHeld(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return true
	}
	defer f.Close()
	return syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) != nil
}

// SameLocation reports whether two store URLs overlap: one's root is the
// other's or lies inside it (same bucket and nested prefixes, or nested
// folders after resolving links). Such a source and destination must be
// refused: a run would read what it writes, and delete what it reads.
func SameLocation(a, b Store) bool {
	switch x := a.(type) {
	case *s3Store:
		y, ok := b.(*s3Store)
		if !ok || x.bucket != y.bucket {
			return false
		}
		return strings.HasPrefix(x.prefix, y.prefix) || strings.HasPrefix(y.prefix, x.prefix)
	case *local:
		y, ok := b.(*local)
		if !ok {
			return false
		}
		p, q := resolve(x.root), resolve(y.root)
		return within(p, q) || within(q, p)
	}
	return a.URL() == b.URL()
}

// resolve follows the links of path as far as it exists.
func resolve(path string) string {
	rest := ""
	for p := path; ; {
		if r, err := filepath.EvalSymlinks(p); err == nil {
			return filepath.Join(r, rest)
		}
		parent := filepath.Dir(p)
		if parent == p {
			return path
		}
		rest = filepath.Join(filepath.Base(p), rest)
		p = parent
	}
}

func within(p, dir string) bool {
	return p == dir || strings.HasPrefix(p, strings.TrimSuffix(dir, string(filepath.Separator))+string(filepath.Separator))
}

func unsupported(st Store) error {
	return fmt.Errorf("store %s has no conditional writes", st.URL())
}

// --- S3 ---

func (s *s3Store) readVersion(ctx context.Context, key string) ([]byte, string, error) {
	if err := validS3Key(key); err != nil {
		return nil, "", s.fail("read", key, err)
	}
	out, err := s.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(s.prefix + key)})
	if err != nil {
		return nil, "", s.fail("read", key, err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(io.LimitReader(out.Body, MaxSmallObject+1))
	if err != nil {
		return nil, "", s.fail("read", key, err)
	}
	if len(b) > MaxSmallObject {
		return nil, "", s.fail("read", key, fmt.Errorf("larger than %d bytes", MaxSmallObject))
	}
	if out.ContentLength != nil && *out.ContentLength != int64(len(b)) {
		return nil, "", s.fail("read", key, fmt.Errorf("short body: %d of %d bytes", len(b), *out.ContentLength))
	}
	return b, aws.ToString(out.ETag), nil
}

func (s *s3Store) putIf(ctx context.Context, key string, body []byte, ifVersion string) (string, error) {
	if err := validS3Key(key); err != nil {
		return "", s.fail("put", key, err)
	}
	in := &s3.PutObjectInput{
		Bucket:        aws.String(s.bucket),
		Key:           aws.String(s.prefix + key),
		Body:          bytes.NewReader(body),
		ContentLength: aws.Int64(int64(len(body))),
		ContentType:   aws.String("application/json"),
	}
	if ifVersion == "" {
		in.IfNoneMatch = aws.String("*")
	} else {
		in.IfMatch = aws.String(ifVersion)
	}
	out, err := s.client.PutObject(ctx, in)
	if err != nil {
		if isPrecondition(err) {
			err = fmt.Errorf("%w (%w)", ErrPrecondition, err)
		}
		return "", s.fail("put", key, err)
	}
	return aws.ToString(out.ETag), nil
}

// isPrecondition: 412 when the condition fails; 409 when S3 saw a
// concurrent conditional write of the same key (retrying may then give 412).
func isPrecondition(err error) bool {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "PreconditionFailed", "ConditionalRequestConflict":
			return true
		}
	}
	return false
}

func (s *s3Store) copy(ctx context.Context, src, dst string) error {
	if err := validS3Key(src); err != nil {
		return s.fail("copy", src, err)
	}
	if err := validS3Key(dst); err != nil {
		return s.fail("copy", dst, err)
	}
	// CopySource is "bucket/key", URL-encoded; a single CopyObject copies
	// up to 5 GB (a day's files are a few hundred MB each).
	_, err := s.client.CopyObject(ctx, &s3.CopyObjectInput{
		Bucket:     aws.String(s.bucket),
		Key:        aws.String(s.prefix + dst),
		CopySource: aws.String(s.bucket + "/" + pathEscape(s.prefix+src)),
	})
	if err != nil {
		return s.fail("copy", dst, fmt.Errorf("from %s: %w", s.url(src), err))
	}
	return nil
}

func pathEscape(key string) string {
	parts := strings.Split(key, "/")
	for i, p := range parts {
		parts[i] = url.PathEscape(p)
	}
	return strings.Join(parts, "/")
}

// --- local ---

func version(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func (l *local) readVersion(key string) ([]byte, string, error) {
	f, size, err := l.openRegular("read", key)
	if err != nil {
		return nil, "", err
	}
	defer f.Close()
	if size > MaxSmallObject {
		return nil, "", l.fail("read", key, fmt.Errorf("larger than %d bytes", MaxSmallObject))
	}
	b, err := io.ReadAll(f)
	if err != nil {
		return nil, "", l.fail("read", key, unwrapPath(err))
	}
	return b, version(b), nil
}

// lock takes the store's compare-and-swap lock: an exclusive flock on one
// file of the temporary folder, released by unlock or by the process's end.
func (l *local) lock() (unlock func(), err error) {
	dir := filepath.Join(l.root, filepath.FromSlash(TempDir))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(filepath.Join(dir, casLock), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX)
		if !errors.Is(err, syscall.EINTR) {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return func() { f.Close() }, nil // closing drops the lock
}

func (l *local) putIf(ctx context.Context, key string, body []byte, ifVersion string) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	// Write the new content first, outside the lock: only the compare and
	// the rename need it.
	w, err := l.Create(ctx, key)
	if err != nil {
		return "", err
	}
	lw := w.(*localWriter)
	if _, err := lw.f.Write(body); err != nil {
		_ = w.Abort()
		return "", l.fail("put", key, unwrapPath(err))
	}
	unlock, err := l.lock()
	if err != nil {
		_ = w.Abort()
		return "", l.fail("put", key, unwrapPath(err))
	}
	defer unlock()
	_, cur, err := l.readVersion(key)
	switch {
	case IsNotExist(err):
		if ifVersion != "" {
			_ = w.Abort()
			return "", l.fail("put", key, fmt.Errorf("%w: the object is gone", ErrPrecondition))
		}
	case err != nil:
		_ = w.Abort()
		return "", err
	case ifVersion == "":
		_ = w.Abort()
		return "", l.fail("put", key, fmt.Errorf("%w: the object exists", ErrPrecondition))
	case cur != ifVersion:
		_ = w.Abort()
		return "", l.fail("put", key, fmt.Errorf("%w: version %.12s, want %.12s", ErrPrecondition, cur, ifVersion))
	}
	if err := w.Close(); err != nil {
		return "", err
	}
	return version(body), nil
}

func (l *local) copy(ctx context.Context, src, dst string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	sp, err := l.path(src)
	if err != nil {
		return l.fail("copy", src, err)
	}
	dp, err := l.path(dst)
	if err != nil {
		return l.fail("copy", dst, err)
	}
	tmpDir := filepath.Join(l.root, filepath.FromSlash(TempDir))
	if err := os.MkdirAll(tmpDir, 0o755); err != nil {
		return l.fail("copy", dst, unwrapPath(err))
	}
	if err := os.MkdirAll(filepath.Dir(dp), 0o755); err != nil {
		return l.fail("copy", dst, unwrapPath(err))
	}
	// A hard link under a temporary name, renamed over dst: dst is the
	// whole file or the old one at every instant, and no byte is copied.
	tmp := filepath.Join(tmpDir, fmt.Sprintf("%slink-%d-%d", tempPrefix, os.Getpid(), time.Now().UnixNano()))
	if err := os.Link(sp, tmp); err != nil {
		// No hard links here (another file system, or none supported):
		// copy the bytes through a temporary file.
		return l.copyBytes(ctx, src, dst)
	}
	err = os.Rename(tmp, dp)
	if err != nil {
		os.Remove(tmp)
	}
	l.prune(tmpDir)
	if err != nil {
		return l.fail("copy", dst, unwrapLink(err))
	}
	return nil
}

func (l *local) copyBytes(ctx context.Context, src, dst string) error {
	r, err := l.Open(ctx, src)
	if err != nil {
		return err
	}
	defer r.Close()
	w, err := l.Create(ctx, dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(w, r); err != nil {
		_ = w.Abort()
		return l.fail("copy", dst, err)
	}
	return w.Close()
}
