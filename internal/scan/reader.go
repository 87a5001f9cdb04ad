package scan

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/parquetrail/parquetrail/internal/problem"
	"github.com/parquetrail/parquetrail/internal/record"
)

// Buffer sizes and caps of a Reader. The window holds at least one whole
// record; a larger record grows it up to MaxRecordBytes.
//
// The caps stand far above what CloudTrail writes (an event is at most
// 256 KB, or 1 MB for "large" events; a log file a few tens of MB
// compressed, some hundred thousand records) and exist so that hostile or
// broken input (a record that never ends, a gzip bomb) is refused by name
// instead of exhausting a worker's memory or time.
const (
	InitialBuffer    = 1 << 20
	MaxRecordBytes   = 16 << 20 // one record, or one top-level member
	MaxObjectBytes   = 16 << 30 // decompressed bytes of one object
	MaxObjectRecords = 8 << 20  // records of one object (8,388,608)
)

// Reader streams the records of one CloudTrail log object, gzipped or not
// (detected by its magic bytes), without holding the whole object: it keeps
// a sliding window over the decompressed bytes.
type Reader struct {
	src     io.Reader
	gz      Gunzip
	p       parser
	buf     []byte
	w       int   // end of data in buf
	r       int   // start of the unconsumed data
	readErr error // a read error, reported once the data before it is used
	max     int
	maxObj  int64 // cap on the decompressed bytes
	maxRecs int   // cap on the records
	plain   bool  // src is decompressed already: no gzip detection

	state    int // stTop, stArray, stAfter, stDone
	members  int // top-level members seen
	records  bool
	detected bool
	index    int
	zc       zoneCache
}

const (
	stTop = iota
	stArray
	stAfter
	stDone
)

// ReaderOptions tune a Reader.
type ReaderOptions struct {
	Zone           *time.Location // for the local-time column; UTC when nil
	InitialBuffer  int            // window size to start with
	MaxRecordBytes int            // largest record (or top-level member) accepted
	// MaxObjectBytes and MaxObjectRecords cap the decompressed bytes and
	// the records of the object (0: the defaults). Reading stops with a
	// problem of KindTooLarge when one is exceeded; records before stay.
	MaxObjectBytes   int64
	MaxObjectRecords int
	// Decompressed says src is already inflated (the caller detected and
	// undid the object's gzip): gzip is detected once, at the object's
	// start, so an object gzipped twice is not inflated twice (a small one
	// can hide a gzip bomb); its inner gzip is reported as bad input.
	Decompressed bool
}

// NewReader returns a Reader of the records in src for schema s.
func NewReader(src io.Reader, s *record.Schema, opts ReaderOptions) *Reader {
	r := &Reader{}
	r.Reset(src, s, opts)
	return r
}

// Reset makes r read src, reusing its buffers.
func (r *Reader) Reset(src io.Reader, s *record.Schema, opts ReaderOptions) {
	size := opts.InitialBuffer
	if size <= 0 {
		size = InitialBuffer
	}
	r.max = opts.MaxRecordBytes
	if r.max <= 0 {
		r.max = MaxRecordBytes
	}
	if size > r.max {
		size = r.max
	}
	r.maxObj = cmp.Or(max(opts.MaxObjectBytes, 0), MaxObjectBytes)
	r.maxRecs = cmp.Or(max(opts.MaxObjectRecords, 0), MaxObjectRecords)
	r.plain = opts.Decompressed
	if cap(r.buf) < size || cap(r.buf) > 4*size {
		// A window grown for a huge record of the last object is not kept.
		r.buf = make([]byte, size)
	}
	r.buf = r.buf[:cap(r.buf)]
	zone := opts.Zone
	if zone == nil {
		zone = time.UTC
	}
	if r.zc.loc != zone {
		r.zc = zoneCache{loc: zone, start: 1, end: 0}
	}
	r.src = src
	r.w, r.r = 0, 0
	r.readErr = nil
	r.state = stTop
	r.members = 0
	r.records = false
	r.detected = false
	r.index = 0
	r.p.s = s
	r.p.keep = s.Lossless()
	r.p.base = 0
	r.p.arena = r.p.arena[:0]
}

// Offset is the number of decompressed bytes consumed so far.
func (r *Reader) Offset() int64 { return r.p.base + int64(r.r) }

// detect looks at src's first bytes: a gzipped src is inflated, or refused
// when src is said to be decompressed already.
func (r *Reader) detect() error {
	if r.plain {
		head, gzipped, err := sniffGzip(r.src)
		if err != nil {
			return err
		}
		r.src = head
		if gzipped {
			return errGzipTwice
		}
		return nil
	}
	src, err := r.gz.Open(r.src)
	if err != nil {
		return err
	}
	r.src = src
	return nil
}

var errGzipTwice = errors.New("the decompressed object starts with the gzip magic again (gzipped twice?); gzip is inflated once, and this is not a JSON document")

// tooLarge is a cap exceeded.
type tooLarge struct{ msg string }

func (e *tooLarge) Error() string { return e.msg }

// fill moves the unconsumed data to the front and reads more. It grows the
// window when a single step fills it.
func (r *Reader) fill() error {
	if r.r > 0 {
		n := copy(r.buf, r.buf[r.r:r.w])
		r.p.base += int64(r.r)
		r.w = n
		r.r = 0
	}
	if r.w == len(r.buf) {
		if len(r.buf) >= r.max {
			return &tooLarge{fmt.Sprintf("a record is larger than the cap of %s per record (see docs/limits.md)", sizeText(int64(r.max)))}
		}
		nb := make([]byte, min(2*len(r.buf), r.max))
		copy(nb, r.buf[:r.w])
		r.buf = nb
	}
	for r.w < len(r.buf) {
		if r.p.base+int64(r.w) > r.maxObj {
			return &tooLarge{fmt.Sprintf("the object's decompressed data exceeds the cap of %s per object (see docs/limits.md)", sizeText(r.maxObj))}
		}
		n, err := r.src.Read(r.buf[r.w:])
		r.w += n
		if err != nil {
			if err != io.EOF {
				r.readErr = err
			}
			return io.EOF
		}
		if n == 0 {
			continue
		}
		// Enough for progress; don't wait for a full window.
		if r.w-r.r >= 64<<10 || r.w == len(r.buf) {
			return nil
		}
	}
	return nil
}

// Next scans the next record into row. It returns nil with row filled (a
// malformed record has row.Kind set), io.EOF after the last record, or a
// problem.Problem (Record -1 unless a record was being read) when the object
// cannot be read any further; records returned before stay valid.
func (r *Reader) Next(row *record.Row) error {
	if r.state == stDone {
		return io.EOF
	}
	if !r.detected {
		r.detected = true
		if err := r.detect(); err != nil {
			return r.fail(err, -1)
		}
	}
	eof := false
	for {
		r.p.b = r.buf[:r.w]
		r.p.i = r.r
		r.p.eof = eof
		got, err := r.step(row)
		if err == nil {
			r.r = r.p.i
			if got {
				return nil
			}
			if r.state == stDone {
				if r.readErr != nil {
					return r.fail(r.readErr, -1)
				}
				return io.EOF
			}
			continue
		}
		if err != errShort {
			rec := -1
			if r.state == stArray {
				rec = r.index
			}
			return r.fail(err, rec)
		}
		if eof {
			return r.fail(io.ErrUnexpectedEOF, -1)
		}
		if ferr := r.fill(); ferr != nil {
			if ferr != io.EOF {
				rec := -1
				if r.state == stArray {
					rec = r.index
				}
				return r.fail(ferr, rec)
			}
			eof = true
		}
	}
}

// fail ends the object with a problem.
func (r *Reader) fail(err error, rec int) error {
	r.state = stDone
	off := r.Offset()
	kind := problem.KindUnreadable
	detail := err.Error()
	var se *SyntaxError
	var tl *tooLarge
	switch {
	case errors.As(err, &tl):
		kind = problem.KindTooLarge
	case errors.Is(err, errGzipTwice):
		kind = problem.KindInvalidJSON
		off = 0
	case r.readErr != nil:
		// The input broke off (truncated gzip, I/O error): that is the
		// cause, whatever the scanner made of the bytes before it.
		detail = "read: " + r.readErr.Error()
		if errors.As(err, &se) {
			off = se.Offset
		}
	case errors.As(err, &se):
		kind = problem.KindInvalidJSON
		off = se.Offset
		detail = se.Msg
	case errors.Is(err, errNoRecords):
		kind = problem.KindNoRecords
		detail = "the document has no Records array (a digest or another kind of file?)"
	}
	return problem.Problem{Record: rec, Offset: off, Kind: kind, Detail: detail}
}

var errNoRecords = errors.New("no Records array")

// step advances by one record or one top-level member; it returns true when
// it produced a record.
func (r *Reader) step(row *record.Row) (bool, error) {
	p := &r.p
	p.arena = p.arena[:0]
	switch r.state {
	case stTop:
		if r.members == 0 {
			c, err := p.peek()
			if err != nil {
				if err == errShort {
					return false, err
				}
				if p.i >= len(p.b) && p.base == 0 && p.i == 0 {
					return false, p.errAt(0, "empty object")
				}
				return false, err
			}
			if c != '{' {
				// Valid JSON that is not a trail document is still not a
				// log file; tell the two apart for the report.
				if _, err := p.skip(0); err != nil {
					return false, err
				}
				if err := r.trailer(); err != nil {
					return false, err
				}
				return false, errNoRecords
			}
			p.i++
			c2, err := p.peek()
			if err != nil {
				return false, err
			}
			if c2 == '}' {
				p.i++
				if err := r.trailer(); err != nil {
					return false, err
				}
				return false, errNoRecords
			}
		}
		return false, r.member()
	case stArray:
		c, err := p.peek()
		if err != nil {
			return false, err
		}
		if c == ']' {
			p.i++
			r.state = stAfter
			return false, nil
		}
		if r.index > 0 {
			if c != ',' {
				return false, p.errAt(p.i, "expected ',' or ']' in Records")
			}
			p.i++
		}
		if r.index >= r.maxRecs {
			return false, &tooLarge{fmt.Sprintf("the object has more than the cap of %d records per object (see docs/limits.md)", r.maxRecs)}
		}
		if err := p.record(row); err != nil {
			return false, err
		}
		row.Index = r.index
		if row.Kind == "" {
			row.Local = r.zc.local(row.Time)
		}
		r.index++
		return true, nil
	case stAfter:
		c, err := p.peek()
		if err != nil {
			return false, err
		}
		switch c {
		case ',':
			p.i++
			return false, r.member()
		case '}':
			p.i++
			if err := r.trailer(); err != nil {
				return false, err
			}
			r.state = stDone
			if !r.records {
				return false, errNoRecords
			}
			return false, nil
		}
		return false, p.errAt(p.i, "expected ',' or '}' after a member")
	}
	return false, nil
}

// member parses one top-level member: "Records" opens the array, others are
// validated and skipped.
func (r *Reader) member() error {
	p := &r.p
	c, err := p.peek()
	if err != nil {
		return err
	}
	if c != '"' {
		return p.errAt(p.i, "expected object key")
	}
	ks, ke, kf, err := p.str()
	if err != nil {
		return err
	}
	isRecords := string(p.text(ks, ke, kf)) == "Records"
	if err := p.expect(':'); err != nil {
		return err
	}
	c, err = p.peek()
	if err != nil {
		return err
	}
	if isRecords && c == '[' {
		p.i++
		r.members++
		r.records = true
		r.state = stArray
		r.index = 0
		return nil
	}
	if _, err := p.skip(1); err != nil {
		return err
	}
	r.members++
	r.state = stAfter
	return nil
}

// trailer checks that only whitespace follows the document.
func (r *Reader) trailer() error {
	p := &r.p
	p.ws()
	if p.i < len(p.b) {
		return p.errAt(p.i, "data after the document")
	}
	if !p.eof {
		return errShort
	}
	return nil
}

// sizeText writes a byte count in the unit that reads best in a message.
func sizeText(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}
