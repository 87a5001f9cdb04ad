package digest

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"testing"

	"github.com/klauspost/compress/gzip"
)

// BenchmarkHashGzip measures what verification adds per log file: gunzip
// and SHA-256 of the uncompressed content (MB/s of uncompressed JSON).
func BenchmarkHashGzip(b *testing.B) {
	var raw bytes.Buffer
	raw.WriteString(`{"Records":[`)
	for i := 0; raw.Len() < 8<<20; i++ {
		fmt.Fprintf(&raw, `{"eventVersion":"1.11","eventTime":"2026-11-24T01:%02d:%02dZ","eventID":"%08x-0000","eventName":"GetObject","requestParameters":{"bucketName":"b%d","key":"k/%d"}},`, i%60, i%60, i, i%97, i)
	}
	raw.WriteString(`{}]}`)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(raw.Bytes())
	zw.Close()
	b.SetBytes(int64(raw.Len()))
	for b.Loop() {
		if _, err := hashGzip(sha256.New(), bytes.NewReader(gz.Bytes()), "k"); err != nil {
			b.Fatal(err)
		}
	}
}
