package record

import (
	"fmt"
	"time"
)

// Types of the published files. Typed (the default) writes eventtime as a
// UTC timestamp, the local-time column as a local timestamp and blobs as
// JSON text. Spark writes the types of the PySpark job that parquetrail
// replaces, so that a Glue/Athena table defined over that job's output reads
// the files unchanged: proc_ymd as the first column of every file (as well
// as the partition folder), eventtime as CloudTrail's text, the local-time
// column as "yyyy-MM-dd HH:mm:ss" text, and the four blobs that job declared
// as MAP<STRING,STRING> (top-level keys; a value that is an object or an
// array is its compact JSON text, a string its text, null stays null).
const (
	Typed = "typed"
	Spark = "spark"
)

// Kinds of the spark types. They exist only in published files: rows are
// scanned, staged and merged typed, and the file writer converts.
const (
	Const     Kind = iota + 64 // optional string, the same value in every row (proc_ymd)
	TimeText                   // optional string: eventtime as CloudTrail writes it
	LocalText                  // optional string: the local wall clock, "yyyy-MM-dd HH:mm:ss"
	Map                        // optional MAP<STRING,STRING> of a JSON object's top-level members
)

// ProcYMDColumn is the partition column's name.
const ProcYMDColumn = "proc_ymd"

// sparkMaps are the blobs the Spark job declared as MAP<STRING,STRING>.
var sparkMaps = map[field]bool{
	fRequestParameters:   true,
	fResponseElements:    true,
	fServiceEventDetails: true,
	fUIWebIDAttributes:   true,
}

// ValidTypes checks a --types value ("" is typed) against a column set.
func ValidTypes(types, set string) error {
	switch types {
	case "", Typed:
		return nil
	case Spark:
		if set != Seed {
			return fmt.Errorf("types %q need the %q column set (the Spark job's columns), not %q", Spark, Seed, set)
		}
		return nil
	}
	return fmt.Errorf("unknown types %q (want %q or %q)", types, Typed, Spark)
}

// FileSchema returns the schema of the day's published files for the given
// types: s itself for typed; for spark, proc_ymd (with the value procYMD,
// YYYYMMDD) first, then s's columns with the Spark job's types. Batches stay
// of schema s; a FileWriter of the returned schema converts their values.
func (s *Schema) FileSchema(types, procYMD string) (*Schema, error) {
	if err := ValidTypes(types, s.Set); err != nil {
		return nil, err
	}
	if types != Spark {
		return s, nil
	}
	if len(procYMD) != 8 {
		return nil, fmt.Errorf("proc_ymd %q is not YYYYMMDD", procYMD)
	}
	f := &Schema{Set: s.Set, Types: Spark}
	for i := range f.col {
		f.col[i] = -1
	}
	add := func(c Column) {
		f.col[c.field] = len(f.Columns)
		f.Columns = append(f.Columns, c)
	}
	add(Column{Name: ProcYMDColumn, Kind: Const, Dict: true, field: fProcYMD, konst: []byte(procYMD)})
	for _, c := range s.Columns {
		switch {
		case c.Kind == TimeUTC:
			c.Kind, c.Dict = TimeText, false
		case c.Kind == TimeLocal:
			c.Kind, c.Dict = LocalText, false
		case sparkMaps[c.field]:
			c.Kind = Map
		}
		add(c)
	}
	f.want = s.want
	return f, nil
}

// appendTimeText appends CloudTrail's text of an instant (see formatTime).
func appendTimeText(dst []byte, ms int64) []byte {
	t := time.UnixMilli(ms).UTC()
	if ms%1000 == 0 {
		return t.AppendFormat(dst, "2006-01-02T15:04:05Z")
	}
	return t.AppendFormat(dst, "2006-01-02T15:04:05.000Z")
}

// appendLocalText appends a wall-clock time (ms as if UTC) the way the Spark
// job's date_format(..., "yyyy-MM-dd HH:mm:ss") wrote it: whole seconds.
func appendLocalText(dst []byte, ms int64) []byte {
	return time.UnixMilli(ms).UTC().AppendFormat(dst, "2006-01-02 15:04:05")
}

// member is one top-level member of a JSON object: its key and its value as
// a map value (nil for null).
type member struct{ k, v []byte }

// splitObject returns the top-level members of compact JSON text v, in
// order, dropping a repeated key after its first occurrence (a map has
// unique keys). String values are decoded; other values stay JSON text. ok
// is false when v is not an object. Unescaped text goes to *arena.
func splitObject(v []byte, arena *[]byte, out []member) (_ []member, ok bool) {
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
			if string(m.k) == string(key) {
				dup = true
				break
			}
		}
		if !dup {
			out = append(out, member{key, val})
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
