package record

import "time"

// Row is one flattened record. Its byte slices point into the scanner's
// buffers and stay valid until the scanner's next record.
//
// The scanner fills the cells with SetValue and AppendResource; the batch
// and RowValues read them with Value and Resources.
type Row struct {
	Index  int   // 0-based index in the object's Records array
	Offset int64 // byte offset of the record in the decompressed object
	Time   int64 // eventTime, milliseconds since the Unix epoch (UTC)
	Local  int64 // eventTime's wall clock in the day's zone, as if UTC

	// Kind and Detail are set when the record is malformed (a
	// problem.Kind* constant and a cause); the row must not be written.
	Kind   string
	Detail string

	val  [numFields][]byte // nil is null; booleans are "true"/"false"; FieldUnmapped is a JSON object
	resN int               // number of resources, -1 when the lists are null
	res  [3][][]byte       // ARN, accountId, type per resource
}

// Reset empties the row, keeping the memory of its resource lists.
func (r *Row) Reset() {
	*r = Row{resN: -1, res: [3][][]byte{r.res[0][:0], r.res[1][:0], r.res[2][:0]}}
}

// EventID returns the row's eventid column (nil when null).
func (r *Row) EventID() []byte { return r.val[FieldEventID] }

// Value returns the cell of field f (nil when null). The unmapped column is
// FieldUnmapped; the times are Time and Local, the resources Resources.
func (r *Row) Value(f Field) []byte { return r.val[f] }

// SetValue sets the cell of field f.
func (r *Row) SetValue(f Field, v []byte) { r.val[f] = v }

// Resources returns the resource list of a StringList field (the
// FieldResources* fields) and the number of resources, -1 when the record
// has no resources array.
func (r *Row) Resources(f Field) (list [][]byte, n int) {
	return r.res[f-FieldResourcesARN], r.resN
}

// StartResources marks the row as having a resources array (empty so far).
func (r *Row) StartResources() { r.resN = 0 }

// AppendResource adds one element of the resources array: its ARN,
// accountId and type (nil for a missing key).
func (r *Row) AppendResource(el [3][]byte) {
	for k := range el {
		r.res[k] = append(r.res[k], el[k])
	}
	r.resN++
}

// AppendEventTime appends CloudTrail's form of an instant (ms since the
// epoch): whole seconds as "2006-01-02T15:04:05Z", otherwise with
// milliseconds.
func AppendEventTime(dst []byte, ms int64) []byte {
	t := time.UnixMilli(ms).UTC()
	if ms%1000 == 0 {
		return t.AppendFormat(dst, "2006-01-02T15:04:05Z")
	}
	return t.AppendFormat(dst, "2006-01-02T15:04:05.000Z")
}
