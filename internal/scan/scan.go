package scan

import (
	"bytes"
	"time"
	"unicode/utf8"

	"github.com/parquetrail/parquetrail/internal/problem"
	"github.com/parquetrail/parquetrail/internal/record"
)

var (
	litTrue  = []byte("true")
	litFalse = []byte("false")
	litNull  = []byte("null")
	litEmpty = []byte("{}")
)

// slot says how the scanner treats a key.
type slotKind uint8

const (
	slotUnknown slotKind = iota
	slotString
	slotJSON
	slotBool
	slotTime
	slotStruct
	slotResources
	slotEventIDAlt // the "eventId" spelling of aggregated events
)

// level is a struct of the record whose keys are looked up (the lv*
// constants are generated with lookup).
type level uint8

type slot struct {
	kind slotKind
	f    record.Field // for value slots
	sub  level        // for slotStruct
}

func val(k slotKind, f record.Field) slot { return slot{kind: k, f: f} }
func sub(l level) slot                    { return slot{kind: slotStruct, sub: l} }

// umEntry is one unmapped value at a path of raw (quoted) keys.
type umEntry struct {
	n    int
	keys [maxPath][]byte
	val  []byte
}

// parser turns one record into a Row.
type parser struct {
	lexer
	s    *record.Schema
	keep bool // collect unmapped values (full set)
	zone *zoneCache

	row    *record.Row
	um     []umEntry
	path   [maxPath][]byte
	depth  int
	emits  int // values stored so far; tells empty structs apart
	hasT   bool
	altID  bool   // the record has the eventId spelling
	eidRaw []byte // raw value of eventID, for records that have both spellings
}

func (p *parser) reset(row *record.Row) {
	p.arena = p.arena[:0]
	p.um = p.um[:0]
	p.depth = 0
	p.emits = 0
	p.hasT = false
	p.altID = false
	p.eidRaw = nil
	row.Reset()
	p.row = row
}

func (p *parser) set(f record.Field, v []byte) {
	p.row.SetValue(f, v)
	p.emits++
}

// unmap keeps v under key k at the current path.
func (p *parser) unmap(k, v []byte) {
	if !p.keep {
		return
	}
	e := umEntry{n: p.depth + 1, val: v}
	copy(e.keys[:], p.path[:p.depth])
	e.keys[p.depth] = k
	p.um = append(p.um, e)
	p.emits++
}

func (p *parser) malformed(kind, detail string) {
	if p.row.Kind == "" {
		p.row.Kind, p.row.Detail = kind, detail
	}
}

// record parses one element of Records, at p.i.
func (p *parser) record(row *record.Row) error {
	p.reset(row)
	c, err := p.peek()
	if err != nil {
		return err
	}
	row.Offset = p.base + int64(p.i)
	if c != '{' {
		if _, err := p.skip(0); err != nil {
			return err
		}
		p.malformed(problem.KindBadRecord, "record is not a JSON object")
		return nil
	}
	if err := p.object(lvTop, 0); err != nil {
		return err
	}
	if !p.hasT {
		p.malformed(problem.KindNoEventTime, "record has no eventTime")
	}
	if p.altID && p.eidRaw != nil {
		// Both spellings: keep eventID too, so Rebuild restores both.
		p.unmap([]byte(`"eventID"`), p.eidRaw)
	}
	if p.keep && len(p.um) > 0 {
		row.SetValue(record.FieldUnmapped, p.encodeUnmapped())
	}
	return nil
}

// object parses an object at p.i whose keys are looked up at level lv.
func (p *parser) object(lv level, depth int) error {
	p.i++ // '{'
	before := p.emits
	for n := 0; ; n++ {
		c, err := p.peek()
		if err != nil {
			return err
		}
		if c == '}' && n == 0 {
			p.i++
			break
		}
		if c != '"' {
			return p.errAt(p.i, "expected object key")
		}
		ks, ke, kf, err := p.str()
		if err != nil {
			return err
		}
		kraw := p.b[ks-1 : ke+1 : ke+1]
		key := p.text(ks, ke, kf)
		if err := p.expect(':'); err != nil {
			return err
		}
		if _, err := p.peek(); err != nil {
			return err
		}
		if err := p.member(lv, depth, kraw, key); err != nil {
			return err
		}
		c, err = p.peek()
		if err != nil {
			return err
		}
		if c == ',' {
			p.i++
			continue
		}
		if c == '}' {
			p.i++
			break
		}
		return p.errAt(p.i, "expected ',' or '}' in object")
	}
	if lv != lvTop && p.emits == before && p.keep {
		// A present but empty struct: keep it, or Rebuild would drop it.
		p.depth--
		p.unmap(p.path[p.depth], litEmpty)
		p.depth++
	}
	return nil
}

// member parses the value of key at p.i (whitespace skipped).
func (p *parser) member(lv level, depth int, kraw, key []byte) error {
	sl := lookup(lv, key)
	if sl.kind != slotUnknown && sl.kind != slotStruct && sl.kind != slotResources && !p.s.Wants(sl.f) {
		_, err := p.skip(depth + 1)
		return err
	}
	c := p.b[p.i]
	switch sl.kind {
	case slotString:
		switch c {
		case '"':
			s, e, fl, err := p.str()
			if err != nil {
				return err
			}
			p.set(sl.f, p.text(s, e, fl))
			if sl.f == record.FieldEventID {
				p.eidRaw = p.b[s-1 : e+1 : e+1]
			}
			return nil
		case 't', 'f', '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', '{', '[':
			// A number, boolean, object or array in a string field: its
			// compact JSON text in the column (a query still finds it),
			// the original in unmapped.
			v, err := p.raw()
			if err != nil {
				return err
			}
			p.set(sl.f, v)
			p.unmap(kraw, v)
			return nil
		}
	case slotJSON:
		if c != 'n' {
			v, err := p.raw()
			if err != nil {
				return err
			}
			p.set(sl.f, v)
			return nil
		}
	case slotBool:
		switch c {
		case 't', 'f':
			v, err := p.raw()
			if err != nil {
				return err
			}
			p.set(sl.f, v)
			return nil
		case '"':
			s, e, fl, err := p.str()
			if err != nil {
				return err
			}
			raw := p.b[s-1 : e+1 : e+1]
			switch string(p.text(s, e, fl)) {
			case "true":
				p.set(sl.f, litTrue)
			case "false":
				p.set(sl.f, litFalse)
			}
			p.unmap(kraw, raw)
			return nil
		}
	case slotTime:
		p.hasT = true
		if c != '"' {
			v, err := p.raw()
			if err != nil {
				return err
			}
			if c == 'n' {
				p.malformed(problem.KindNoEventTime, "eventTime is null")
			} else {
				p.malformed(problem.KindBadEventTime, "eventTime is not a string: "+clip(v))
			}
			p.unmap(kraw, v)
			return nil
		}
		s, e, fl, err := p.str()
		if err != nil {
			return err
		}
		txt := p.text(s, e, fl)
		ms, canonical, ok := parseTime(txt)
		if !ok {
			p.malformed(problem.KindBadEventTime, "eventTime "+clip(p.b[s-1:e+1])+" does not parse")
		} else {
			p.row.Time = ms
		}
		p.emits++
		if !canonical {
			p.unmap(kraw, p.b[s-1:e+1:e+1])
		}
		return nil
	case slotEventIDAlt:
		v, err := p.raw()
		if err != nil {
			return err
		}
		p.altID = true
		p.unmap(kraw, v)
		if c == '"' && p.row.Value(record.FieldEventID) == nil {
			p.row.SetValue(record.FieldEventID, p.unquote(v))
		}
		return nil
	case slotStruct:
		if c == '{' {
			if p.depth >= maxPath-1 {
				// Not reached by the schema; guards the path array.
				break
			}
			p.path[p.depth] = kraw
			p.depth++
			err := p.object(sl.sub, depth+1)
			p.depth--
			return err
		}
	case slotResources:
		if c == '[' && p.s.Wants(record.FieldResourcesARN) {
			return p.resources(kraw, depth)
		}
	}
	// Unknown keys, explicit nulls and values of the wrong type: unmapped.
	if !p.keep {
		_, err := p.skip(depth + 1)
		return err
	}
	v, err := p.raw()
	if err != nil {
		return err
	}
	p.unmap(kraw, v)
	return nil
}

// unquote decodes a raw JSON string value.
func (p *parser) unquote(raw []byte) []byte {
	inner := raw[1 : len(raw)-1]
	if bytes.IndexByte(inner, '\\') < 0 && utf8.Valid(inner) {
		return inner
	}
	from := len(p.arena)
	p.arena = appendUnquoted(p.arena, inner)
	return p.arena[from:len(p.arena):len(p.arena)]
}

// resources parses the resources array into the three parallel lists. When
// the lists cannot reproduce the array (an element that is not an object,
// another key, a value that is not a string), the whole array is also kept
// in unmapped.
func (p *parser) resources(kraw []byte, depth int) error {
	start := p.i
	p.i++ // '['
	r := p.row
	r.StartResources()
	exact := true
	ws := false
	for n := 0; ; n++ {
		ws = p.wsFlag() || ws
		if p.i >= len(p.b) {
			return p.end()
		}
		if p.b[p.i] == ']' && n == 0 {
			p.i++
			break
		}
		var el [3][]byte
		if p.b[p.i] != '{' {
			exact = false
			w, err := p.skip(depth + 2)
			if err != nil {
				return err
			}
			ws = ws || w
		} else {
			p.i++
			for m := 0; ; m++ {
				ws = p.wsFlag() || ws
				if p.i >= len(p.b) {
					return p.end()
				}
				c := p.b[p.i]
				if c == '}' && m == 0 {
					p.i++
					break
				}
				if c != '"' {
					return p.errAt(p.i, "expected object key")
				}
				ks, ke, kf, err := p.str()
				if err != nil {
					return err
				}
				k := listKey(p.text(ks, ke, kf))
				ws = p.wsFlag() || ws
				if err := p.expect(':'); err != nil {
					return err
				}
				ws = p.wsFlag() || ws
				if p.i >= len(p.b) {
					return p.end()
				}
				if k >= 0 && p.b[p.i] == '"' {
					s, e, fl, err := p.str()
					if err != nil {
						return err
					}
					el[k] = p.text(s, e, fl)
				} else {
					exact = false
					w, err := p.skip(depth + 3)
					if err != nil {
						return err
					}
					ws = ws || w
				}
				ws = p.wsFlag() || ws
				if p.i >= len(p.b) {
					return p.end()
				}
				if p.b[p.i] == ',' {
					p.i++
					continue
				}
				if p.b[p.i] == '}' {
					p.i++
					break
				}
				return p.errAt(p.i, "expected ',' or '}' in object")
			}
		}
		r.AppendResource(el)
		ws = p.wsFlag() || ws
		if p.i >= len(p.b) {
			return p.end()
		}
		if p.b[p.i] == ',' {
			p.i++
			continue
		}
		if p.b[p.i] == ']' {
			p.i++
			break
		}
		return p.errAt(p.i, "expected ',' or ']' in array")
	}
	p.emits++
	if !exact {
		v := p.b[start:p.i:p.i]
		if ws {
			from := len(p.arena)
			p.arena = appendCompact(p.arena, v)
			v = p.arena[from:len(p.arena):len(p.arena)]
		}
		p.unmap(kraw, v)
	}
	return nil
}

// encodeUnmapped writes the entries as one JSON object, nesting entries
// that share a path. Entries come in document order, so those of one struct
// are adjacent.
func (p *parser) encodeUnmapped() []byte {
	out := p.arena
	from := len(out)
	out = append(out, '{')
	var open [maxPath][]byte
	var comma [maxPath + 1]bool
	depth := 0
	for i := range p.um {
		e := &p.um[i]
		cont := e.keys[:e.n-1]
		c := 0
		for c < depth && c < len(cont) && bytes.Equal(open[c], cont[c]) {
			c++
		}
		for depth > c {
			out = append(out, '}')
			depth--
		}
		for depth < len(cont) {
			if comma[depth] {
				out = append(out, ',')
			}
			comma[depth] = true
			out = append(out, cont[depth]...)
			out = append(out, ':', '{')
			open[depth] = cont[depth]
			depth++
			comma[depth] = false
		}
		if comma[depth] {
			out = append(out, ',')
		}
		comma[depth] = true
		out = append(out, e.keys[e.n-1]...)
		out = append(out, ':')
		out = append(out, e.val...)
	}
	for ; depth > 0; depth-- {
		out = append(out, '}')
	}
	out = append(out, '}')
	if v := out[from:]; !utf8.Valid(v) {
		// A raw key or a raw string value kept as written: make it valid.
		fixed := appendValidUTF8(nil, v)
		out = append(out[:from], fixed...)
	}
	p.arena = out
	return out[from:len(out):len(out)]
}

func clip(b []byte) string {
	if len(b) > 64 {
		return string(b[:64]) + "..."
	}
	return string(b)
}

// zoneCache converts UTC instants to wall-clock times in a zone, caching
// the zone's current offset period (a day has at most two).
type zoneCache struct {
	loc        *time.Location
	start, end int64 // ms; the cached period
	offset     int64 // ms
}

func (z *zoneCache) local(ms int64) int64 {
	if ms >= z.start && ms < z.end {
		return ms + z.offset
	}
	t := time.UnixMilli(ms).In(z.loc)
	_, off := t.Zone()
	s, e := t.ZoneBounds()
	z.offset = int64(off) * 1000
	z.start, z.end = -1<<62, 1<<62
	if !s.IsZero() {
		z.start = s.UnixMilli()
	}
	if !e.IsZero() {
		z.end = e.UnixMilli()
	}
	return ms + z.offset
}
