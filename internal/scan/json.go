package scan

import (
	"encoding/binary"
	"errors"
	"fmt"
	"unicode/utf8"
)

// This file holds the JSON primitives of the scanner: they work on a window
// of bytes that may end in the middle of a value. Running off the end of the
// window returns errShort, and the caller refills the window and retries the
// whole step (one record, or one top-level member) from its start. At the
// true end of input, running off the end is a syntax error.

// errShort asks the caller for more input.
var errShort = errors.New("record: need more input")

// maxDepth bounds nesting like encoding/json does, so that both agree on
// what is valid and a hostile document cannot exhaust the stack.
const maxDepth = 10000

// SyntaxError is a JSON syntax error at a byte offset of the decompressed
// object.
type SyntaxError struct {
	Offset int64
	Msg    string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("invalid JSON at byte %d: %s", e.Offset, e.Msg)
}

type lexer struct {
	b     []byte // the window
	i     int    // position in b
	eof   bool   // b ends where the input ends
	base  int64  // offset of b[0] in the decompressed object
	arena []byte // unescaped strings and compacted JSON of the current step
	stack []byte // open containers of skip
}

func (l *lexer) errAt(i int, format string, args ...any) error {
	return &SyntaxError{Offset: l.base + int64(i), Msg: fmt.Sprintf(format, args...)}
}

// end reports running off the window: errShort, or a syntax error at EOF.
func (l *lexer) end() error {
	if l.eof {
		return l.errAt(len(l.b), "unexpected end of input")
	}
	return errShort
}

func (l *lexer) ws() {
	for l.i < len(l.b) {
		switch l.b[l.i] {
		case ' ', '\n', '\r', '\t':
			l.i++
		default:
			return
		}
	}
}

// peek skips whitespace and returns the next byte.
func (l *lexer) peek() (byte, error) {
	l.ws()
	if l.i >= len(l.b) {
		return 0, l.end()
	}
	return l.b[l.i], nil
}

func (l *lexer) expect(c byte) error {
	got, err := l.peek()
	if err != nil {
		return err
	}
	if got != c {
		return l.errAt(l.i, "expected %q, found %q", c, got)
	}
	l.i++
	return nil
}

// strFlags say what a string's raw bytes contain.
type strFlags uint8

const (
	strEscaped strFlags = 1 << iota // has a backslash escape
	strHigh                         // has a byte >= 0x80
)

// strClass marks bytes that end the fast path of string scanning.
var strClass = func() (t [256]uint8) {
	for c := 0; c < 0x20; c++ {
		t[c] = 1 // control character: invalid
	}
	t['"'] = 2
	t['\\'] = 3
	for c := 0x80; c < 0x100; c++ {
		t[c] = 4
	}
	return
}()

// str scans a string starting at its opening quote, returning the bounds of
// its raw contents. l.i ends after the closing quote.
func (l *lexer) str() (start, end int, fl strFlags, err error) {
	start = l.i + 1
	end, fl, bad := scanString(l.b, start)
	switch {
	case bad == badNone:
		l.i = end + 1
		return start, end, fl, nil
	case bad == badShort:
		return 0, 0, 0, l.end()
	case bad == badControl:
		return 0, 0, 0, l.errAt(end, "control character in string")
	default:
		return 0, 0, 0, l.errAt(end, "invalid escape")
	}
}

// Outcomes of scanString.
const (
	badNone = iota
	badShort
	badControl
	badEscape
)

const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// scanString finds the closing quote of a string whose contents start at
// i, eight bytes at a time while no byte needs a look (a quote, a
// backslash, a control character or a non-ASCII byte). It returns the
// quote's position, or where the problem is.
func scanString(b []byte, i int) (end int, fl strFlags, bad int) {
	for {
		for i+8 <= len(b) {
			x := binary.LittleEndian.Uint64(b[i:])
			q := x ^ (ones * '"')
			s := x ^ (ones * '\\')
			if ((q-ones)&^q|(s-ones)&^s|(x-ones*0x20)&^x|x)&highs != 0 {
				break
			}
			i += 8
		}
		for i < len(b) && strClass[b[i]] == 0 {
			i++
		}
		if i >= len(b) {
			return i, fl, badShort
		}
		switch strClass[b[i]] {
		case 1:
			return i, fl, badControl
		case 2:
			return i, fl, badNone
		case 4:
			fl |= strHigh
			i++
		case 3:
			fl |= strEscaped
			if i+1 >= len(b) {
				return i, fl, badShort
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(b) {
					return i, fl, badShort
				}
				for _, h := range b[i+2 : i+6] {
					if unhex(h) < 0 {
						return i, fl, badEscape
					}
				}
				i += 6
			default:
				return i, fl, badEscape
			}
		}
	}
}

func unhex(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// text returns a scanned string's value: the raw bytes when they need no
// decoding, else the decoded bytes in the arena. Decoding follows
// encoding/json: invalid UTF-8 and lone surrogates become U+FFFD.
func (l *lexer) text(start, end int, fl strFlags) []byte {
	raw := l.b[start:end:end]
	if fl == 0 || fl == strHigh && utf8.Valid(raw) {
		return raw
	}
	from := len(l.arena)
	l.arena = appendUnquoted(l.arena, raw)
	return l.arena[from:len(l.arena):len(l.arena)]
}

// appendUnquoted decodes the contents of a valid JSON string.
func appendUnquoted(dst, s []byte) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '\\':
			switch s[i+1] {
			case 'b':
				dst = append(dst, '\b')
			case 'f':
				dst = append(dst, '\f')
			case 'n':
				dst = append(dst, '\n')
			case 'r':
				dst = append(dst, '\r')
			case 't':
				dst = append(dst, '\t')
			case 'u':
				r := hex4(s[i+2:])
				i += 6
				if r >= 0xD800 && r < 0xDC00 {
					// A high surrogate pairs with a following low one.
					if i+6 <= len(s) && s[i] == '\\' && s[i+1] == 'u' {
						if r2 := hex4(s[i+2:]); r2 >= 0xDC00 && r2 < 0xE000 {
							dst = utf8.AppendRune(dst, 0x10000+(r-0xD800)<<10+(r2-0xDC00))
							i += 6
							continue
						}
					}
					r = utf8.RuneError
				} else if r >= 0xDC00 && r < 0xE000 {
					r = utf8.RuneError
				}
				dst = utf8.AppendRune(dst, r)
				continue
			default: // '"', '\\', '/'
				dst = append(dst, s[i+1])
			}
			i += 2
		case c < utf8.RuneSelf:
			dst = append(dst, c)
			i++
		default:
			r, n := utf8.DecodeRune(s[i:])
			if r == utf8.RuneError && n == 1 {
				dst = append(dst, "\uFFFD"...)
			} else {
				dst = append(dst, s[i:i+n]...)
			}
			i += n
		}
	}
	return dst
}

func hex4(s []byte) rune {
	return rune(unhex(s[0])<<12 | unhex(s[1])<<8 | unhex(s[2])<<4 | unhex(s[3]))
}

// skip validates and skips one value, reporting whether it contains
// whitespace outside strings (so that the caller can compact it). It is one
// loop over an explicit stack of open containers: blobs are most of the
// bytes of a record, and this is where the scanner spends its time.
func (l *lexer) skip(depth int) (ws bool, err error) {
	b := l.b
	i := l.i
	stack := l.stack[:0]
	defer func() { l.stack = stack[:0] }()
	for {
		// A value at i.
		for i < len(b) && b[i] <= ' ' && (b[i] == ' ' || b[i] == '\n' || b[i] == '\r' || b[i] == '\t') {
			i++
			ws = true
		}
		if i >= len(b) {
			l.i = i
			return ws, l.end()
		}
		switch c := b[i]; c {
		case '"':
			end, _, bad := scanString(b, i+1)
			if bad != badNone {
				l.i = i
				_, _, _, err := l.str()
				return ws, err
			}
			i = end + 1
		case '{', '[':
			if depth+len(stack) >= maxDepth {
				return ws, l.errAt(i, "nesting too deep")
			}
			stack = append(stack, c)
			i++
			for i < len(b) && (b[i] == ' ' || b[i] == '\n' || b[i] == '\r' || b[i] == '\t') {
				i++
				ws = true
			}
			if i >= len(b) {
				l.i = i
				return ws, l.end()
			}
			if c == '[' {
				if b[i] == ']' {
					i++
					stack = stack[:len(stack)-1]
					break
				}
				continue // the first element
			}
			if b[i] == '}' {
				i++
				stack = stack[:len(stack)-1]
				break
			}
			var w bool
			if i, w, err = l.key(i); err != nil {
				return ws, err
			}
			ws = ws || w
			continue // the member's value
		case 't':
			l.i = i
			if err := l.lit("true"); err != nil {
				return ws, err
			}
			i = l.i
		case 'f':
			l.i = i
			if err := l.lit("false"); err != nil {
				return ws, err
			}
			i = l.i
		case 'n':
			l.i = i
			if err := l.lit("null"); err != nil {
				return ws, err
			}
			i = l.i
		default:
			if c != '-' && (c < '0' || c > '9') {
				return ws, l.errAt(i, "invalid character %q looking for a value", c)
			}
			l.i = i
			if err := l.number(); err != nil {
				return ws, err
			}
			i = l.i
		}
		// After a value: close containers, or go on to the next element.
		for {
			if len(stack) == 0 {
				l.i = i
				return ws, nil
			}
			for i < len(b) && (b[i] == ' ' || b[i] == '\n' || b[i] == '\r' || b[i] == '\t') {
				i++
				ws = true
			}
			if i >= len(b) {
				l.i = i
				return ws, l.end()
			}
			top := stack[len(stack)-1]
			c := b[i]
			if c == ',' {
				i++
				if top == '{' {
					for i < len(b) && (b[i] == ' ' || b[i] == '\n' || b[i] == '\r' || b[i] == '\t') {
						i++
						ws = true
					}
					var w bool
					if i, w, err = l.key(i); err != nil {
						return ws, err
					}
					ws = ws || w
				}
				break
			}
			if top == '{' && c == '}' || top == '[' && c == ']' {
				i++
				stack = stack[:len(stack)-1]
				continue
			}
			if top == '{' {
				return ws, l.errAt(i, "expected ',' or '}' in object")
			}
			return ws, l.errAt(i, "expected ',' or ']' in array")
		}
	}
}

// key scans an object key and its colon at i, returning the position of
// the value (whitespace before it not yet skipped) and whether whitespace
// was seen.
func (l *lexer) key(i int) (int, bool, error) {
	b := l.b
	if i >= len(b) {
		l.i = i
		return i, false, l.end()
	}
	if b[i] != '"' {
		return i, false, l.errAt(i, "expected object key")
	}
	end, _, bad := scanString(b, i+1)
	if bad != badNone {
		l.i = i
		_, _, _, err := l.str()
		return i, false, err
	}
	i = end + 1
	ws := false
	for i < len(b) && (b[i] == ' ' || b[i] == '\n' || b[i] == '\r' || b[i] == '\t') {
		i++
		ws = true
	}
	if i >= len(b) {
		l.i = i
		return i, ws, l.end()
	}
	if b[i] != ':' {
		return i, ws, l.errAt(i, "expected ':' after object key")
	}
	return i + 1, ws, nil
}

func (l *lexer) wsFlag() bool {
	j := l.i
	l.ws()
	return l.i != j
}

func (l *lexer) lit(s string) error {
	for k := 0; k < len(s); k++ {
		if l.i+k >= len(l.b) {
			return l.end()
		}
		if l.b[l.i+k] != s[k] {
			return l.errAt(l.i+k, "invalid literal")
		}
	}
	l.i += len(s)
	return nil
}

// number scans -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?. A number is
// only known to be complete when a byte follows it, so a number that reaches
// the end of the window is short unless the input ends there.
func (l *lexer) number() error {
	b, i := l.b, l.i
	digits := func() (int, error) {
		j := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i >= len(b) && !l.eof {
			return 0, errShort
		}
		return i - j, nil
	}
	if b[i] == '-' {
		i++
		if i >= len(b) {
			return l.end()
		}
	}
	switch {
	case b[i] == '0':
		i++
		if i >= len(b) && !l.eof {
			return errShort
		}
	case b[i] >= '1' && b[i] <= '9':
		if _, err := digits(); err != nil {
			return err
		}
	default:
		return l.errAt(i, "invalid number")
	}
	if i < len(b) && b[i] == '.' {
		i++
		n, err := digits()
		if err != nil {
			return err
		}
		if n == 0 {
			if i >= len(b) {
				return l.end()
			}
			return l.errAt(i, "invalid number")
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		n, err := digits()
		if err != nil {
			return err
		}
		if n == 0 {
			if i >= len(b) {
				return l.end()
			}
			return l.errAt(i, "invalid number")
		}
	}
	l.i = i
	return nil
}

// raw skips a value and returns its JSON text, compacted into the arena when
// it contains insignificant whitespace.
func (l *lexer) raw() ([]byte, error) {
	start := l.i
	ws, err := l.skip(0)
	if err != nil {
		return nil, err
	}
	v := l.b[start:l.i:l.i]
	valid := utf8.Valid(v)
	if !ws && valid {
		return v, nil
	}
	from := len(l.arena)
	if ws {
		l.arena = appendCompact(l.arena, v)
	} else {
		l.arena = append(l.arena, v...)
	}
	if !valid {
		// Invalid UTF-8 can only sit inside strings; readers of the column
		// (DuckDB, Trino) refuse it, and encoding/json reads each bad byte
		// as U+FFFD, so write that: the value stays equal as JSON.
		fixed := appendValidUTF8(l.arena[len(l.arena):], l.arena[from:])
		l.arena = append(l.arena[:from], fixed...)
	}
	return l.arena[from:len(l.arena):len(l.arena)], nil
}

// appendValidUTF8 appends s with every byte that is not part of a valid
// UTF-8 sequence replaced by U+FFFD, as encoding/json decodes it.
func appendValidUTF8(dst, s []byte) []byte {
	for i := 0; i < len(s); {
		if s[i] < utf8.RuneSelf {
			dst = append(dst, s[i])
			i++
			continue
		}
		r, n := utf8.DecodeRune(s[i:])
		if r == utf8.RuneError && n == 1 {
			dst = append(dst, "\uFFFD"...)
		} else {
			dst = append(dst, s[i:i+n]...)
		}
		i += n
	}
	return dst
}

// appendCompact appends valid JSON without whitespace outside strings.
func appendCompact(dst, v []byte) []byte {
	for i := 0; i < len(v); {
		c := v[i]
		switch c {
		case ' ', '\n', '\r', '\t':
			i++
			continue
		case '"':
			j := i + 1
			for v[j] != '"' {
				if v[j] == '\\' {
					j++
				}
				j++
			}
			dst = append(dst, v[i:j+1]...)
			i = j + 1
			continue
		}
		// Copy a run of structural and scalar bytes.
		j := i + 1
		for j < len(v) {
			switch v[j] {
			case ' ', '\n', '\r', '\t', '"':
			default:
				j++
				continue
			}
			break
		}
		dst = append(dst, v[i:j]...)
		i = j
	}
	return dst
}
