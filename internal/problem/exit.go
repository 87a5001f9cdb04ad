package problem

import (
	"errors"
	"net"

	"github.com/aws/smithy-go"
)

// Exit codes of the worker, one meaning each, so that the operator's pod
// failure policy and a user's script can act on them.
const (
	ExitOK    = 0 // success
	ExitRetry = 1 // a failure a retry may fix (the store, the network, a crash)
	ExitUsage = 2 // usage or configuration: flags, bucket, credentials, endpoint
	// ExitBadInput (3) is the input itself: a retry cannot fix it.
)

// ErrUsage marks usage and configuration errors: the command line or the
// settings are wrong, and running again unchanged cannot succeed.
var ErrUsage = errors.New("usage or configuration error")

// Usage marks err as a usage or configuration error (errors.Is(err,
// ErrUsage) holds; the message is err's).
func Usage(err error) error {
	if err == nil {
		return nil
	}
	return usageErr{err}
}

type usageErr struct{ error }

func (u usageErr) Unwrap() []error { return []error{u.error, ErrUsage} }

// configCodes are the S3 error codes that say the configuration is wrong:
// the bucket does not exist, the credentials are not valid, or they do not
// grant access. (ExpiredToken is left out: refreshed credentials fix it.)
var configCodes = map[string]bool{
	"NoSuchBucket":                 true,
	"InvalidBucketName":            true,
	"InvalidAccessKeyId":           true,
	"SignatureDoesNotMatch":        true,
	"AccessDenied":                 true,
	"AllAccessDisabled":            true,
	"AuthorizationHeaderMalformed": true,
	"InvalidToken":                 true,
	"PermanentRedirect":            true, // the bucket is in another region than configured
}

// IsConfig reports whether err says the settings are wrong: a usage error,
// an S3 error code in configCodes, or an endpoint whose host name does not
// resolve.
func IsConfig(err error) bool {
	if errors.Is(err, ErrUsage) {
		return true
	}
	var ae smithy.APIError
	if errors.As(err, &ae) && configCodes[ae.ErrorCode()] {
		return true
	}
	var dns *net.DNSError
	return errors.As(err, &dns) && dns.IsNotFound
}

// ExitCode classifies err once for every command: nil 0, bad input 3, usage
// and configuration 2, anything else 1.
func ExitCode(err error) int {
	switch {
	case err == nil:
		return ExitOK
	case errors.Is(err, ErrBadInput):
		return ExitBadInput
	case IsConfig(err):
		return ExitUsage
	default:
		return ExitRetry
	}
}
