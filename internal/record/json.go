package record

import (
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
	b := l.b
	i := l.i + 1
	start = i
	for {
		// The common case: plain ASCII runs.
		for i < len(b) && strClass[b[i]] == 0 {
			i++
		}
		if i >= len(b) {
			return 0, 0, 0, l.end()
		}
		switch strClass[b[i]] {
		case 1:
			return 0, 0, 0, l.errAt(i, "control character in string")
		case 2:
			l.i = i + 1
			return start, i, fl, nil
		case 4:
			fl |= strHigh
			i++
		case 3:
			fl |= strEscaped
			if i+1 >= len(b) {
				return 0, 0, 0, l.end()
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(b) {
					return 0, 0, 0, l.end()
				}
				for _, h := range b[i+2 : i+6] {
					if unhex(h) < 0 {
						return 0, 0, 0, l.errAt(i, "invalid \\u escape")
					}
				}
				i += 6
			default:
				return 0, 0, 0, l.errAt(i, "invalid escape")
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
// whitespace outside strings (so that the caller can compact it).
func (l *lexer) skip(depth int) (ws bool, err error) {
	if l.i >= len(l.b) {
		return false, l.end()
	}
	switch c := l.b[l.i]; c {
	case '"':
		_, _, _, err = l.str()
		return false, err
	case '{':
		if depth >= maxDepth {
			return false, l.errAt(l.i, "nesting too deep")
		}
		l.i++
		for n := 0; ; n++ {
			ws = l.wsFlag() || ws
			if l.i >= len(l.b) {
				return ws, l.end()
			}
			if l.b[l.i] == '}' && n == 0 {
				l.i++
				return ws, nil
			}
			if l.b[l.i] != '"' {
				return ws, l.errAt(l.i, "expected object key")
			}
			if _, _, _, err = l.str(); err != nil {
				return ws, err
			}
			ws = l.wsFlag() || ws
			if l.i >= len(l.b) {
				return ws, l.end()
			}
			if l.b[l.i] != ':' {
				return ws, l.errAt(l.i, "expected ':' after object key")
			}
			l.i++
			ws = l.wsFlag() || ws
			w, err := l.skip(depth + 1)
			if err != nil {
				return ws, err
			}
			ws = l.wsFlag() || ws || w
			if l.i >= len(l.b) {
				return ws, l.end()
			}
			switch l.b[l.i] {
			case ',':
				l.i++
			case '}':
				l.i++
				return ws, nil
			default:
				return ws, l.errAt(l.i, "expected ',' or '}' in object")
			}
		}
	case '[':
		if depth >= maxDepth {
			return false, l.errAt(l.i, "nesting too deep")
		}
		l.i++
		ws = l.wsFlag()
		if l.i >= len(l.b) {
			return ws, l.end()
		}
		if l.b[l.i] == ']' {
			l.i++
			return ws, nil
		}
		for {
			w, err := l.skip(depth + 1)
			if err != nil {
				return ws, err
			}
			ws = l.wsFlag() || ws || w
			if l.i >= len(l.b) {
				return ws, l.end()
			}
			switch l.b[l.i] {
			case ',':
				l.i++
				ws = l.wsFlag() || ws
			case ']':
				l.i++
				return ws, nil
			default:
				return ws, l.errAt(l.i, "expected ',' or ']' in array")
			}
		}
	case 't':
		return false, l.lit("true")
	case 'f':
		return false, l.lit("false")
	case 'n':
		return false, l.lit("null")
	default:
		if c == '-' || c >= '0' && c <= '9' {
			return false, l.number()
		}
		return false, l.errAt(l.i, "invalid character %q looking for a value", c)
	}
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
	if !ws {
		return v, nil
	}
	from := len(l.arena)
	l.arena = appendCompact(l.arena, v)
	return l.arena[from:len(l.arena):len(l.arena)], nil
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
