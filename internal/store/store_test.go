package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/google/go-cmp/cmp"

	"github.com/parquetrail/parquetrail/internal/store/s3test"
)

// kind builds empty stores of one kind for the behaviour tests.
type kind struct {
	name string
	new  func(t *testing.T) Store
}

var bucketSeq atomic.Int64

// kinds returns a local folder, a bucket and a prefix in a bucket. The
// prefixed stores have objects outside their root, which must stay invisible.
func kinds(t *testing.T) []kind {
	endpoint, client := s3test.Start(t)
	isolateAWSConfig(t)
	opts := Options{
		Endpoint:        endpoint,
		Region:          s3test.Region,
		PathStyle:       true,
		AccessKeyID:     s3test.AccessKeyID,
		SecretAccessKey: s3test.SecretAccessKey,
		PartSize:        5 << 20,
	}
	newBucket := func(t *testing.T) string {
		b := fmt.Sprintf("bucket-%d", bucketSeq.Add(1))
		s3test.CreateBucket(t, client, b)
		return b
	}
	open := func(t *testing.T, url string) Store {
		st, err := Open(context.Background(), url, opts)
		if err != nil {
			t.Fatalf("Open(%q): %v", url, err)
		}
		return st
	}
	return []kind{
		{"local", func(t *testing.T) Store {
			dir := t.TempDir()
			root := filepath.Join(dir, "root")
			for _, decoy := range []string{"root-sibling/a", "rootx"} {
				p := filepath.Join(dir, filepath.FromSlash(decoy))
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, []byte("decoy"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			return open(t, root)
		}},
		{"s3", func(t *testing.T) Store {
			return open(t, "s3://"+newBucket(t))
		}},
		{"s3 prefix", func(t *testing.T) Store {
			b := newBucket(t)
			for _, decoy := range []string{"some/prefix-sibling/a", "some/prefixx", "other/b", "some/a"} {
				s3test.PutObject(t, client, b, decoy, []byte("decoy"))
			}
			return open(t, "s3://"+b+"/some/prefix")
		}},
	}
}

// isolateAWSConfig keeps a developer's AWS settings out of the tests.
func isolateAWSConfig(t *testing.T) {
	for _, k := range []string{"AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION",
		"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3",
		"AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CONTAINER_CREDENTIALS_FULL_URI"} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
}

func tctx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func put(t *testing.T, st Store, key string, body []byte) {
	t.Helper()
	w, err := st.Create(tctx(t), key)
	if err != nil {
		t.Fatalf("Create(%q): %v", key, err)
	}
	if _, err := w.Write(body); err != nil {
		t.Fatalf("Write(%q): %v", key, err)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("Close(%q): %v", key, err)
	}
}

func get(t *testing.T, st Store, key string) []byte {
	t.Helper()
	r, err := st.Open(tctx(t), key)
	if err != nil {
		t.Fatalf("Open(%q): %v", key, err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("read %q: %v", key, err)
	}
	return b
}

func list(t *testing.T, st Store, prefix string) []string {
	t.Helper()
	keys := []string{}
	err := st.List(tctx(t), prefix, func(o Object) error {
		keys = append(keys, o.Key)
		return nil
	})
	if err != nil {
		t.Fatalf("List(%q): %v", prefix, err)
	}
	return keys
}

func listDirs(t *testing.T, st Store, prefix string) []string {
	t.Helper()
	dirs, err := st.ListDirs(tctx(t), prefix)
	if err != nil {
		t.Fatalf("ListDirs(%q): %v", prefix, err)
	}
	if dirs == nil {
		dirs = []string{}
	}
	return dirs
}

// treeKeys are in S3 (byte) order; the local store must agree although
// os.ReadDir would put "a" before "a.txt".
var treeKeys = []string{
	"AWSLogs/o-abcd/111111111111/CloudTrail/us-east-1/2024/01/02/x.json.gz",
	"AWSLogs/o-abcd/222222222222/CloudTrail/eu-west-1/2024/01/02/y.json.gz",
	"a b/ü+%.json",
	"a-b",
	"a.txt",
	"a/b",
	"a/c/d",
	"a0",
	"b",
}

func TestStore(t *testing.T) {
	tests := []struct {
		name string
		run  func(t *testing.T, st Store)
	}{
		{"write then read", func(t *testing.T, st Store) {
			body := []byte(`{"Records":[]}`)
			put(t, st, "dir/sub/obj.json", body)
			if diff := cmp.Diff(body, get(t, st, "dir/sub/obj.json")); diff != "" {
				t.Errorf("read back (-want +got):\n%s", diff)
			}
			var got []Object
			if err := st.List(tctx(t), "", func(o Object) error { got = append(got, o); return nil }); err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 || got[0].Key != "dir/sub/obj.json" || got[0].Size != int64(len(body)) {
				t.Fatalf("List = %+v, want dir/sub/obj.json of %d bytes", got, len(body))
			}
			if got[0].Modified.IsZero() || got[0].Modified.Location() != time.UTC {
				t.Errorf("Modified = %v, want a UTC time", got[0].Modified)
			}
		}},
		{"empty object", func(t *testing.T, st Store) {
			put(t, st, "empty", nil)
			if got := get(t, st, "empty"); len(got) != 0 {
				t.Errorf("read %d bytes, want 0", len(got))
			}
			f, err := st.OpenFile(tctx(t), "empty")
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if f.Size() != 0 {
				t.Errorf("Size() = %d, want 0", f.Size())
			}
		}},
		{"overwrite replaces", func(t *testing.T, st Store) {
			put(t, st, "k", []byte("first version, longer"))
			put(t, st, "k", []byte("second"))
			if got := string(get(t, st, "k")); got != "second" {
				t.Errorf("read %q, want %q", got, "second")
			}
		}},
		{"missing object", func(t *testing.T, st Store) {
			_, err := st.Open(tctx(t), "no/such/key")
			if !IsNotExist(err) {
				t.Fatalf("Open of a missing key: %v, want a not-exist error", err)
			}
			if !strings.Contains(err.Error(), st.URL()) || !strings.Contains(err.Error(), "no/such/key") {
				t.Errorf("error %q does not name %s and the key", err, st.URL())
			}
			if _, err := st.OpenFile(tctx(t), "no/such/key"); !IsNotExist(err) {
				t.Errorf("OpenFile of a missing key: %v, want a not-exist error", err)
			}
		}},
		{"open file reads at offsets", func(t *testing.T, st Store) {
			body := bytes.Repeat([]byte("0123456789"), 1000)
			put(t, st, "f.bin", body)
			f, err := st.OpenFile(tctx(t), "f.bin")
			if err != nil {
				t.Fatal(err)
			}
			if f.Size() != int64(len(body)) {
				t.Errorf("Size() = %d, want %d", f.Size(), len(body))
			}
			buf := make([]byte, 4)
			if _, err := f.ReadAt(buf, 9996); err != nil || string(buf) != "6789" {
				t.Errorf("ReadAt(9996) = %q, %v; want 6789", buf, err)
			}
			if _, err := f.ReadAt(buf, 3); err != nil || string(buf) != "3456" {
				t.Errorf("ReadAt(3) = %q, %v; want 3456", buf, err)
			}
			if err := f.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		}},
		{"invisible until close", func(t *testing.T, st Store) {
			w, err := st.Create(tctx(t), "part/p.parquet")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := w.Write([]byte("half")); err != nil {
				t.Fatal(err)
			}
			if got := list(t, st, ""); len(got) != 0 {
				t.Errorf("List while writing = %q, want nothing", got)
			}
			if _, err := st.Open(tctx(t), "part/p.parquet"); !IsNotExist(err) {
				t.Errorf("Open while writing: %v, want a not-exist error", err)
			}
			if _, err := w.Write([]byte(" and half")); err != nil {
				t.Fatal(err)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			if err := w.Close(); err != nil {
				t.Errorf("second Close: %v", err)
			}
			if got := string(get(t, st, "part/p.parquet")); got != "half and half" {
				t.Errorf("read %q", got)
			}
			if _, err := w.Write([]byte("more")); err == nil {
				t.Error("Write after Close succeeded")
			}
		}},
		{"abort leaves nothing", func(t *testing.T, st Store) {
			w, err := st.Create(tctx(t), "gone/obj")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := w.Write([]byte("data")); err != nil {
				t.Fatal(err)
			}
			if err := w.Abort(); err != nil {
				t.Fatalf("Abort: %v", err)
			}
			if err := w.Close(); err != nil {
				t.Errorf("Close after Abort: %v", err)
			}
			if got := list(t, st, ""); len(got) != 0 {
				t.Errorf("List after Abort = %q, want nothing", got)
			}
			if got := listDirs(t, st, ""); len(got) != 0 {
				t.Errorf("ListDirs after Abort = %q, want nothing", got)
			}
		}},
		{"abort keeps the previous version", func(t *testing.T, st Store) {
			put(t, st, "k", []byte("old"))
			w, err := st.Create(tctx(t), "k")
			if err != nil {
				t.Fatal(err)
			}
			w.Write([]byte("new"))
			w.Abort()
			if got := string(get(t, st, "k")); got != "old" {
				t.Errorf("read %q, want old", got)
			}
		}},
		{"multipart object", func(t *testing.T, st Store) {
			// Three parts of the 5 MiB part size, written in small pieces.
			w, err := st.Create(tctx(t), "big/part.parquet")
			if err != nil {
				t.Fatal(err)
			}
			var want bytes.Buffer
			chunk := make([]byte, 64<<10)
			for i := 0; want.Len() < 11<<20; i++ {
				for j := range chunk {
					chunk[j] = byte(i + j)
				}
				w.Write(chunk)
				want.Write(chunk)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(get(t, st, "big/part.parquet"), want.Bytes()) {
				t.Error("multipart object read back differs")
			}
			f, err := st.OpenFile(tctx(t), "big/part.parquet")
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if f.Size() != int64(want.Len()) {
				t.Fatalf("Size() = %d, want %d", f.Size(), want.Len())
			}
			got := make([]byte, 1000)
			off := int64(want.Len() - 1000)
			if _, err := f.ReadAt(got, off); err != nil || !bytes.Equal(got, want.Bytes()[off:]) {
				t.Errorf("ReadAt of the tail: %v, or content differs", err)
			}
		}},
		{"list in key order", func(t *testing.T, st Store) {
			for _, k := range []string{"b", "a/c/d", "a0", "a.txt", "a/b", "a b/ü+%.json", "a-b",
				"AWSLogs/o-abcd/222222222222/CloudTrail/eu-west-1/2024/01/02/y.json.gz",
				"AWSLogs/o-abcd/111111111111/CloudTrail/us-east-1/2024/01/02/x.json.gz"} {
				put(t, st, k, []byte(k))
			}
			if diff := cmp.Diff(treeKeys, list(t, st, "")); diff != "" {
				t.Errorf("List(\"\") (-want +got):\n%s", diff)
			}
			for prefix, want := range map[string][]string{
				"a/":               {"a/b", "a/c/d"},
				"a":                {"a b/ü+%.json", "a-b", "a.txt", "a/b", "a/c/d", "a0"},
				"a/c":              {"a/c/d"},
				"AWSLogs/":         treeKeys[:2],
				"AWSLogs/o-abcd/1": treeKeys[:1],
				"zzz/":             {},
				"b/":               {},
			} {
				if diff := cmp.Diff(want, list(t, st, prefix)); diff != "" {
					t.Errorf("List(%q) (-want +got):\n%s", prefix, diff)
				}
			}
			for _, k := range treeKeys {
				if got := string(get(t, st, k)); got != k {
					t.Errorf("Open(%q) read %q", k, got)
				}
			}
		}},
		{"list dirs", func(t *testing.T, st Store) {
			for _, k := range treeKeys {
				put(t, st, k, []byte(k))
			}
			for prefix, want := range map[string][]string{
				"":                 {"AWSLogs/", "a b/", "a/"},
				"a/":               {"a/c/"},
				"a":                {"a b/", "a/"},
				"AWSLogs/":         {"AWSLogs/o-abcd/"},
				"AWSLogs/o-abcd/":  {"AWSLogs/o-abcd/111111111111/", "AWSLogs/o-abcd/222222222222/"},
				"AWSLogs/o-abcd/2": {"AWSLogs/o-abcd/222222222222/"},
				"a/c/":             {},
				"nothing/":         {},
			} {
				if diff := cmp.Diff(want, listDirs(t, st, prefix)); diff != "" {
					t.Errorf("ListDirs(%q) (-want +got):\n%s", prefix, diff)
				}
			}
		}},
		{"list stops on callback error", func(t *testing.T, st Store) {
			for _, k := range treeKeys {
				put(t, st, k, nil)
			}
			stop := errors.New("stop")
			n := 0
			err := st.List(tctx(t), "", func(Object) error { n++; return stop })
			if !errors.Is(err, stop) || n != 1 {
				t.Errorf("List = %v after %d calls, want stop after 1", err, n)
			}
		}},
		{"list with cancelled context", func(t *testing.T, st Store) {
			put(t, st, "a/b", nil)
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			if err := st.List(ctx, "", func(Object) error { return nil }); !errors.Is(err, context.Canceled) {
				t.Errorf("List = %v, want context.Canceled", err)
			}
		}},
		{"delete", func(t *testing.T, st Store) {
			for _, k := range treeKeys {
				put(t, st, k, nil)
			}
			if err := st.Delete(tctx(t), "a/c/d", "a/b", "never/was", "AWSLogs/o-abcd/111111111111/CloudTrail/us-east-1/2024/01/02/x.json.gz"); err != nil {
				t.Fatalf("Delete: %v", err)
			}
			want := []string{treeKeys[1], "a b/ü+%.json", "a-b", "a.txt", "a0", "b"}
			if diff := cmp.Diff(want, list(t, st, "")); diff != "" {
				t.Errorf("List after Delete (-want +got):\n%s", diff)
			}
			// No folder outlives its objects.
			if diff := cmp.Diff([]string{"AWSLogs/", "a b/"}, listDirs(t, st, "")); diff != "" {
				t.Errorf("ListDirs after Delete (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]string{"AWSLogs/o-abcd/222222222222/"}, listDirs(t, st, "AWSLogs/o-abcd/")); diff != "" {
				t.Errorf("ListDirs after Delete (-want +got):\n%s", diff)
			}
			if err := st.Delete(tctx(t)); err != nil {
				t.Errorf("Delete of nothing: %v", err)
			}
		}},
		{"many keys", func(t *testing.T, st Store) {
			// More than a listing page (1,000) of keys and of folders, and
			// more than a DeleteObjects batch.
			var keys, dirs []string
			for i := range 1100 {
				dirs = append(dirs, fmt.Sprintf("d/%04d/", i))
				keys = append(keys, fmt.Sprintf("d/%04d/obj", i))
			}
			for i := range 1000 {
				keys = append(keys, fmt.Sprintf("e/%04d", i))
			}
			for _, k := range keys {
				put(t, st, k, []byte("x"))
			}
			if diff := cmp.Diff(keys, list(t, st, "")); diff != "" {
				t.Errorf("List (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(dirs, listDirs(t, st, "d/")); diff != "" {
				t.Errorf("ListDirs (-want +got):\n%s", diff)
			}
			if err := st.Delete(tctx(t), keys[:2050]...); err != nil {
				t.Fatalf("Delete: %v", err)
			}
			if diff := cmp.Diff(keys[2050:], list(t, st, "")); diff != "" {
				t.Errorf("List after Delete (-want +got):\n%s", diff)
			}
		}},
		{"invalid keys", func(t *testing.T, st Store) {
			for _, k := range []string{"", "dir/"} {
				if _, err := st.Create(tctx(t), k); err == nil {
					t.Errorf("Create(%q) succeeded", k)
				}
				if _, err := st.Open(tctx(t), k); err == nil {
					t.Errorf("Open(%q) succeeded", k)
				}
			}
		}},
	}
	for _, k := range kinds(t) {
		for _, tt := range tests {
			t.Run(k.name+"/"+tt.name, func(t *testing.T) {
				tt.run(t, k.new(t))
			})
		}
	}
}

func TestOpen(t *testing.T) {
	isolateAWSConfig(t)
	dir := t.TempDir()
	tests := []struct {
		url     string
		wantURL string
		wantErr string
	}{
		{url: dir, wantURL: "file://" + dir},
		{url: "file://" + dir, wantURL: "file://" + dir},
		{url: "file://localhost" + dir, wantURL: "file://" + dir},
		{url: dir + "/sub/../out/", wantURL: "file://" + dir + "/out"},
		{url: "s3://bucket", wantURL: "s3://bucket"},
		{url: "s3://bucket/", wantURL: "s3://bucket"},
		{url: "s3://bucket/a/b", wantURL: "s3://bucket/a/b"},
		{url: "s3://bucket/a/b/", wantURL: "s3://bucket/a/b"},
		{url: "", wantErr: "empty URL"},
		{url: "s3://", wantErr: "no bucket"},
		{url: "s3:///prefix", wantErr: "no bucket"},
		{url: "gs://bucket/x", wantErr: "unsupported scheme"},
		{url: "file://host/x", wantErr: "names no host"},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			st, err := Open(context.Background(), tt.url, Options{Region: "us-east-1"})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Open(%q) = %v, want error with %q", tt.url, err, tt.wantErr)
				}
				if st != nil {
					t.Errorf("Open(%q) returned a store with its error", tt.url)
				}
				return
			}
			if err != nil {
				t.Fatalf("Open(%q): %v", tt.url, err)
			}
			if got := st.URL(); got != tt.wantURL {
				t.Errorf("URL() = %q, want %q", got, tt.wantURL)
			}
		})
	}
	f := filepath.Join(dir, "file")
	os.WriteFile(f, nil, 0o644)
	if _, err := Open(context.Background(), f, Options{}); err == nil {
		t.Errorf("Open of a file as a folder succeeded")
	}
}

// TestOpenSDKChain configures the S3 store through the environment only, as
// a pod with AWS_ENDPOINT_URL_S3 and credentials in its environment would.
func TestOpenSDKChain(t *testing.T) {
	endpoint, client := s3test.Start(t)
	isolateAWSConfig(t)
	s3test.CreateBucket(t, client, "env-bucket")
	s3test.PutObject(t, client, "env-bucket", "p/k", []byte("v"))
	t.Setenv("AWS_ENDPOINT_URL_S3", endpoint)
	t.Setenv("AWS_ACCESS_KEY_ID", s3test.AccessKeyID)
	t.Setenv("AWS_SECRET_ACCESS_KEY", s3test.SecretAccessKey)
	t.Setenv("AWS_REGION", "eu-west-1")
	st, err := Open(tctx(t), "s3://env-bucket/p", Options{PathStyle: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := string(get(t, st, "k")); got != "v" {
		t.Errorf("read %q, want v", got)
	}
}

func TestS3AbortRemovesMultipartUpload(t *testing.T) {
	endpoint, client := s3test.Start(t)
	isolateAWSConfig(t)
	s3test.CreateBucket(t, client, "abort-bucket")
	st, err := Open(tctx(t), "s3://abort-bucket/x", Options{Endpoint: endpoint, PathStyle: true,
		AccessKeyID: s3test.AccessKeyID, SecretAccessKey: s3test.SecretAccessKey, PartSize: 5 << 20})
	if err != nil {
		t.Fatal(err)
	}
	w, err := st.Create(tctx(t), "big")
	if err != nil {
		t.Fatal(err)
	}
	// Past two parts, so that a multipart upload has begun.
	if _, err := w.Write(make([]byte, 11<<20)); err != nil {
		t.Fatal(err)
	}
	uploads := func() int {
		out, err := client.ListMultipartUploads(tctx(t), &s3.ListMultipartUploadsInput{Bucket: aws.String("abort-bucket")})
		if err != nil {
			t.Fatal(err)
		}
		return len(out.Uploads)
	}
	if n := uploads(); n != 1 {
		t.Errorf("%d multipart uploads in progress, want 1", n)
	}
	if err := w.Abort(); err != nil {
		t.Fatal(err)
	}
	if n := uploads(); n != 0 {
		t.Errorf("%d multipart uploads left after Abort, want 0", n)
	}
	if keys := s3test.Keys(t, client, "abort-bucket", ""); len(keys) != 0 {
		t.Errorf("objects after Abort: %q", keys)
	}
}

func TestS3OpenFileLeavesNoTempFile(t *testing.T) {
	endpoint, client := s3test.Start(t)
	isolateAWSConfig(t)
	s3test.CreateBucket(t, client, "tmp-bucket")
	s3test.PutObject(t, client, "tmp-bucket", "k", []byte("value"))
	tmp := t.TempDir()
	st, err := Open(tctx(t), "s3://tmp-bucket", Options{Endpoint: endpoint, PathStyle: true,
		AccessKeyID: s3test.AccessKeyID, SecretAccessKey: s3test.SecretAccessKey, TempDir: tmp})
	if err != nil {
		t.Fatal(err)
	}
	f, err := st.OpenFile(tctx(t), "k")
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 5)
	if _, err := f.ReadAt(buf, 0); err != nil || string(buf) != "value" {
		t.Errorf("ReadAt = %q, %v", buf, err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if ents, _ := os.ReadDir(tmp); len(ents) != 0 {
		t.Errorf("temp files left: %v", ents)
	}
	if _, err := st.OpenFile(tctx(t), "missing"); !IsNotExist(err) {
		t.Errorf("OpenFile of a missing key: %v", err)
	}
	if ents, _ := os.ReadDir(tmp); len(ents) != 0 {
		t.Errorf("temp files left after a failed download: %v", ents)
	}
}

func TestLocalRefusesKeysOutsideRoot(t *testing.T) {
	st, err := Open(context.Background(), t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"../x", "a/../../x", "/etc/passwd", "a//b", "./a", "."} {
		if _, err := st.Create(tctx(t), k); err == nil {
			t.Errorf("Create(%q) succeeded", k)
		}
		if _, err := st.Open(tctx(t), k); err == nil {
			t.Errorf("Open(%q) succeeded", k)
		}
		if err := st.Delete(tctx(t), k); err == nil {
			t.Errorf("Delete(%q) succeeded", k)
		}
	}
}

func TestLocalCreateIsAtomic(t *testing.T) {
	dir := t.TempDir()
	st, err := Open(context.Background(), dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	w, err := st.Create(tctx(t), "a/b")
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("x"))
	if _, err := os.Stat(filepath.Join(dir, "a", "b")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("target exists before Close: %v", err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	ents, err := os.ReadDir(filepath.Join(dir, "a"))
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != 1 || ents[0].Name() != "b" {
		t.Errorf("folder holds %v, want only b", ents)
	}
	fi, err := os.Stat(filepath.Join(dir, "a", "b"))
	if err != nil || fi.Mode().Perm() != 0o644 {
		t.Errorf("committed file mode %v, %v; want 0644", fi.Mode(), err)
	}
	// Delete prunes the emptied folder but never the root.
	if err := st.Delete(tctx(t), "a/b"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "a")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("emptied folder kept: %v", err)
	}
	if _, err := os.Stat(dir); err != nil {
		t.Errorf("root removed: %v", err)
	}
}

func TestOptionsNeverShowSecrets(t *testing.T) {
	o := Options{Endpoint: "http://x", AccessKeyID: "AKIAVISIBLE", SecretAccessKey: "s3cr3t", SessionToken: "t0ken"}
	for _, format := range []string{"%v", "%+v", "%#v", "%s"} {
		got := fmt.Sprintf(format, o)
		for _, secret := range []string{"AKIAVISIBLE", "s3cr3t", "t0ken"} {
			if strings.Contains(got, secret) {
				t.Errorf("%s shows %q: %s", format, secret, got)
			}
		}
		if !strings.Contains(got, "http://x") {
			t.Errorf("%s hides the endpoint: %s", format, got)
		}
	}
	if got := o.LogValue().String(); strings.Contains(got, "s3cr3t") {
		t.Errorf("LogValue shows the secret: %s", got)
	}
}
