package scan

// Member is one top-level member of a JSON object: its key K and its value
// V as a map value (nil for null).
type Member struct{ K, V []byte }

// SplitObject returns the top-level members of compact JSON text v, in
// order, dropping a repeated key after its first occurrence (a map has
// unique keys). String values are decoded; other values stay JSON text. ok
// is false when v is not an object. Unescaped text goes to *arena.
func SplitObject(v []byte, arena *[]byte, out []Member) (_ []Member, ok bool) {
	l := lexer{b: v, eof: true, arena: (*arena)[:0]}
	defer func() { *arena = l.arena }()
	if c, err := l.peek(); err != nil || c != '{' {
		return out, false
	}
	l.i++
	for n := 0; ; n++ {
		c, err := l.peek()
		if err != nil {
			return out, false
		}
		if c == '}' && n == 0 {
			return out, true
		}
		ks, ke, kf, err := l.str()
		if err != nil {
			return out, false
		}
		key := l.text(ks, ke, kf)
		if err := l.expect(':'); err != nil {
			return out, false
		}
		c, err = l.peek()
		if err != nil {
			return out, false
		}
		var val []byte
		switch c {
		case '"':
			s, e, fl, err := l.str()
			if err != nil {
				return out, false
			}
			val = l.text(s, e, fl)
			if val == nil {
				val = []byte{}
			}
		default:
			start := l.i
			if _, err := l.skip(1); err != nil {
				return out, false
			}
			if c != 'n' {
				val = v[start:l.i:l.i]
			}
		}
		dup := false
		for _, m := range out {
			if string(m.K) == string(key) {
				dup = true
				break
			}
		}
		if !dup {
			out = append(out, Member{key, val})
		}
		c, err = l.peek()
		if err != nil {
			return out, false
		}
		l.i++
		switch c {
		case ',':
		case '}':
			return out, true
		default:
			return out, false
		}
	}
}
