package record

import (
	"fmt"
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
var sparkMaps = map[Field]bool{
	FieldRequestParameters:   true,
	FieldResponseElements:    true,
	FieldServiceEventDetails: true,
	FieldUIWebIDAttributes:   true,
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
		f.col[c.Field] = len(f.Columns)
		f.Columns = append(f.Columns, c)
	}
	add(Column{Name: ProcYMDColumn, Kind: Const, Dict: true, Field: FieldProcYMD, ConstValue: []byte(procYMD)})
	for _, c := range s.Columns {
		switch {
		case c.Kind == TimeUTC:
			c.Kind, c.Dict = TimeText, false
		case c.Kind == TimeLocal:
			c.Kind, c.Dict = LocalText, false
		case sparkMaps[c.Field]:
			c.Kind = Map
		}
		add(c)
	}
	f.want = s.want
	return f, nil
}
