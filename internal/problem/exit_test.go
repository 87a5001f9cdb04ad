package problem_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"testing"

	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"

	"github.com/parquetrail/parquetrail/internal/problem"
)

func TestExitCode(t *testing.T) {
	api := func(code string) error {
		return fmt.Errorf("store: list s3://b/: %w", &smithy.GenericAPIError{Code: code, Message: "m"})
	}
	cases := []struct {
		name string
		err  error
		want int
	}{
		{"nil", nil, 0},
		{"plain", errors.New("disk full"), 1},
		{"context", context.DeadlineExceeded, 1},
		{"bad record", fmt.Errorf("shard 2: %w", problem.Problem{Object: "k", Record: 3, Offset: 9, Kind: problem.KindBadRecord}), 3},
		{"usage", problem.Usage(errors.New("unknown compression \"lz4\"")), 2},
		{"usage wrapped", fmt.Errorf("run: %w", problem.Usage(errors.New("x"))), 2},
		{"NoSuchBucket", api("NoSuchBucket"), 2},
		{"InvalidAccessKeyId", api("InvalidAccessKeyId"), 2},
		{"SignatureDoesNotMatch", api("SignatureDoesNotMatch"), 2},
		{"AccessDenied", api("AccessDenied"), 2},
		{"SlowDown", api("SlowDown"), 1},
		{"ExpiredToken", api("ExpiredToken"), 1},
		{"NoSuchKey", api("NoSuchKey"), 1},
		{"host not found", &net.OpError{Op: "dial", Err: &net.DNSError{Name: "x.invalid", Err: "no such host", IsNotFound: true}}, 2},
		{"DNS timeout", &net.OpError{Op: "dial", Err: &net.DNSError{Name: "x", Err: "timeout", IsTimeout: true}}, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if diff := cmp.Diff(c.want, problem.ExitCode(c.err)); diff != "" {
				t.Errorf("ExitCode(%v) (-want +got):\n%s", c.err, diff)
			}
		})
	}
	if problem.Usage(nil) != nil {
		t.Error("Usage(nil) is not nil")
	}
	if got := problem.Usage(errors.New("m")).Error(); got != "m" {
		t.Errorf("Usage changed the message to %q", got)
	}
}
