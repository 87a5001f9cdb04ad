// Package store is the object store parquetrail reads CloudTrail logs from and
// writes Parquet to: a local folder or an S3 bucket (AWS or S3-compatible),
// addressed by a URL ("/path/to/dir", "file:///path", "s3://bucket/prefix").
//
// Keys are always slash-separated and relative to the store's root (the
// folder, or the bucket plus prefix given in the URL).
package store

import (
	"context"
	"io"
	"time"
)

// Object is one listed object.
type Object struct {
	Key      string    `json:"key"`
	Size     int64     `json:"size"`
	ETag     string    `json:"etag,omitempty"`
	Modified time.Time `json:"modified,omitempty"`
}

// File is a random-access handle on an object (Parquet needs it to read the
// footer). Close releases it, including any local copy the store made.
type File interface {
	io.ReaderAt
	io.Closer
	Size() int64
}

// Store is an object store rooted at a folder or bucket prefix.
type Store interface {
	// List calls fn for every object whose key starts with prefix, in key
	// order per listing page, following pagination to the end.
	List(ctx context.Context, prefix string, fn func(Object) error) error
	// ListDirs returns the immediate "sub-folders" of prefix (which ends in
	// "/" or is empty), as full keys ending in "/" (S3 common prefixes).
	ListDirs(ctx context.Context, prefix string) ([]string, error)
	// Open streams an object.
	Open(ctx context.Context, key string) (io.ReadCloser, error)
	// OpenFile opens an object for random access.
	OpenFile(ctx context.Context, key string) (File, error)
	// Create returns a writer whose Close makes the object visible under key
	// atomically (all or nothing); Abort discards it.
	Create(ctx context.Context, key string) (Writer, error)
	// Delete removes objects; missing keys are not an error.
	Delete(ctx context.Context, keys ...string) error
	// URL is the store's root as a URL, for messages and manifests.
	URL() string
}

// Writer is an object being written.
type Writer interface {
	io.Writer
	// Close commits the object.
	Close() error
	// Abort discards what was written; Close after Abort is a no-op.
	Abort() error
}
