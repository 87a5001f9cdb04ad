// Package problem names bad input — an object that cannot be read, a record
// that cannot be flattened — by object key and position, so that nothing is
// dropped silently and a user can find the culprit.
package problem

import (
	"errors"
	"fmt"
)

// ErrBadInput marks failures that a retry cannot fix (the input itself is
// bad). Workers exit with ExitBadInput on it, and the operator's pod failure
// policy fails the shard at once instead of retrying.
var ErrBadInput = errors.New("bad input")

// ExitBadInput is the worker's exit code for ErrBadInput.
const ExitBadInput = 3

// Problem is one malformed record or unreadable object.
type Problem struct {
	Object string `json:"object"` // store key of the object
	// Record is the 0-based index of the record in the object's Records
	// array, or -1 when the object as a whole could not be read.
	Record int `json:"record"`
	// Offset is the byte offset in the decompressed JSON where the problem
	// was found, or -1 when unknown.
	Offset int64  `json:"offset"`
	Kind   string `json:"kind"`   // a Kind* constant
	Detail string `json:"detail"` // human-readable cause
}

// Kinds of problems.
const (
	KindUnreadable   = "unreadable-object"  // I/O or gzip error, object gone
	KindInvalidJSON  = "invalid-json"       // the object is not a JSON document
	KindNoRecords    = "no-records"         // a JSON document without a Records array (e.g. a digest in the wrong place)
	KindBadRecord    = "malformed-record"   // a record that is not a JSON object
	KindNoEventTime  = "missing-event-time" // record without a usable eventTime
	KindBadEventTime = "invalid-event-time" // eventTime that does not parse
	KindTooLarge     = "too-large"          // a record or an object beyond a documented cap
)

func (p Problem) Error() string {
	switch {
	case p.Record >= 0 && p.Offset >= 0:
		return fmt.Sprintf("%s: record %d (byte %d): %s: %s", p.Object, p.Record, p.Offset, p.Kind, p.Detail)
	case p.Record >= 0:
		return fmt.Sprintf("%s: record %d: %s: %s", p.Object, p.Record, p.Kind, p.Detail)
	case p.Offset >= 0:
		return fmt.Sprintf("%s: byte %d: %s: %s", p.Object, p.Offset, p.Kind, p.Detail)
	default:
		return fmt.Sprintf("%s: %s: %s", p.Object, p.Kind, p.Detail)
	}
}

// Unwrap lets errors.Is(p, ErrBadInput) hold.
func (p Problem) Unwrap() error { return ErrBadInput }
