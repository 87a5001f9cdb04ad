// Package s3test starts a real S3-protocol server on loopback for tests:
// gofakes3 with its in-memory backend behind httptest, addressed path-style
// with static dummy credentials. Code under test talks to it through the AWS
// SDK exactly as it would to S3.
package s3test

import (
	"bytes"
	"context"
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"golang.org/x/sync/errgroup"
)

// Credentials and region the server accepts (it checks none of them, but
// the SDK signs every request).
const (
	AccessKeyID     = "AKIAS3TESTEXAMPLE"
	SecretAccessKey = "s3test-secret-not-a-real-key"
	Region          = "us-east-1"
)

// Start starts a server for the duration of the test and returns its
// endpoint URL and a client for it. Each call gets an empty server of its own.
func Start(t testing.TB) (endpoint string, client *s3.Client) {
	t.Helper()
	faker := gofakes3.New(s3mem.New())
	srv := httptest.NewServer(faker.Server())
	t.Cleanup(srv.Close)
	return srv.URL, Client(srv.URL)
}

// Client returns an SDK client for the server at endpoint. It reads no
// environment or shared configuration, so a developer's AWS settings cannot
// leak into tests.
func Client(endpoint string) *s3.Client {
	return s3.New(s3.Options{
		Region:       Region,
		BaseEndpoint: aws.String(endpoint),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider(AccessKeyID, SecretAccessKey, ""),
		// gofakes3 sends no response checksums; do not log each time.
		DisableLogOutputChecksumValidationSkipped: true,
	})
}

func ctx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return c
}

// CreateBucket creates bucket or fails the test.
func CreateBucket(t testing.TB, client *s3.Client, bucket string) {
	t.Helper()
	if _, err := client.CreateBucket(ctx(t), &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatalf("s3test: create bucket %s: %v", bucket, err)
	}
}

// PutObject writes body to bucket/key or fails the test.
func PutObject(t testing.TB, client *s3.Client, bucket, key string, body []byte) {
	t.Helper()
	_, err := client.PutObject(ctx(t), &s3.PutObjectInput{
		Bucket:        aws.String(bucket),
		Key:           aws.String(key),
		Body:          bytes.NewReader(body),
		ContentLength: aws.Int64(int64(len(body))),
	})
	if err != nil {
		t.Fatalf("s3test: put s3://%s/%s: %v", bucket, key, err)
	}
}

// PutAll writes every object of objs (key to body) to bucket, a few at a
// time, or fails the test.
func PutAll(t testing.TB, client *s3.Client, bucket string, objs map[string][]byte) {
	t.Helper()
	g, gctx := errgroup.WithContext(ctx(t))
	g.SetLimit(8)
	for key, body := range objs {
		g.Go(func() error {
			_, err := client.PutObject(gctx, &s3.PutObjectInput{
				Bucket:        aws.String(bucket),
				Key:           aws.String(key),
				Body:          bytes.NewReader(body),
				ContentLength: aws.Int64(int64(len(body))),
			})
			if err != nil {
				return fmt.Errorf("put s3://%s/%s: %w", bucket, key, err)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatalf("s3test: %v", err)
	}
}

// Keys lists every key of bucket under prefix, in order, or fails the test.
func Keys(t testing.TB, client *s3.Client, bucket, prefix string) []string {
	t.Helper()
	var keys []string
	p := s3.NewListObjectsV2Paginator(client, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(prefix)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx(t))
		if err != nil {
			t.Fatalf("s3test: list s3://%s/%s: %v", bucket, prefix, err)
		}
		for _, o := range page.Contents {
			keys = append(keys, aws.ToString(o.Key))
		}
	}
	return keys
}
