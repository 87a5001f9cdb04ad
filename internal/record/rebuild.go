package record

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Values is a row as column name → value: string (String and JSON columns),
// bool, time.Time or int64 milliseconds (timestamps), []any of string or nil
// (lists); a missing key or nil is null. It is the form rows take when read
// back from Parquet by any reader.
type Values map[string]any

// RowValues returns a scanned row as Values.
func (s *Schema) RowValues(r *Row) Values {
	v := Values{}
	for _, c := range s.Columns {
		switch c.Kind {
		case TimeUTC:
			v[c.Name] = time.UnixMilli(r.Time).UTC()
		case TimeLocal:
			v[c.Name] = time.UnixMilli(r.Local).UTC()
		case StringList:
			list, n := r.Resources(c.Field)
			if n < 0 {
				continue
			}
			l := make([]any, len(list))
			for i, e := range list {
				if e != nil {
					l[i] = string(e)
				}
			}
			v[c.Name] = l
		case Bool:
			if b := r.val[c.Field]; b != nil {
				v[c.Name] = b[0] == 't'
			}
		default:
			if b := r.val[c.Field]; b != nil {
				v[c.Name] = string(b)
			}
		}
	}
	return v
}

// Rebuild turns a row of the full set back into its record: the typed
// columns give the record's fields, then the unmapped column is laid over
// them (merged into structs the schema knows, replacing anything else).
// Numbers come back as json.Number, exactly as written.
func (s *Schema) Rebuild(row Values) (map[string]any, error) {
	if !s.Lossless() {
		return nil, fmt.Errorf("the %s column set does not keep whole records; use %s", s.Set, Full)
	}
	var um map[string]any
	if t, ok := row["unmapped"].(string); ok {
		if err := decode(t, &um); err != nil {
			return nil, fmt.Errorf("unmapped: %w", err)
		}
	}
	_, altID := um["eventId"]
	out := map[string]any{}
	var res [3][]any
	hasRes := false
	for _, c := range s.Columns {
		v := row[c.Name]
		if v == nil || c.Path == nil {
			continue
		}
		var x any
		switch c.Kind {
		case String:
			if c.Field == FieldEventID && altID {
				continue // the unmapped spellings say it all
			}
			x = v
		case JSON:
			t, ok := v.(string)
			if !ok {
				return nil, fmt.Errorf("%s: %T is not JSON text", c.Name, v)
			}
			if err := decode(t, &x); err != nil {
				return nil, fmt.Errorf("%s: %w", c.Name, err)
			}
		case Bool:
			x = v
		case TimeUTC:
			switch t := v.(type) {
			case time.Time:
				x = string(AppendEventTime(nil, t.UnixMilli()))
			case int64:
				x = string(AppendEventTime(nil, t))
			default:
				return nil, fmt.Errorf("%s: %T is not a time", c.Name, v)
			}
		case StringList:
			l, ok := v.([]any)
			if !ok {
				return nil, fmt.Errorf("%s: %T is not a list", c.Name, v)
			}
			res[c.Field-FieldResourcesARN] = l
			hasRes = true
			continue
		}
		setPath(out, c.Path, x)
	}
	if hasRes {
		n := max(len(res[0]), len(res[1]), len(res[2]))
		list := make([]any, n)
		keys := [3]string{"ARN", "accountId", "type"}
		for i := range list {
			el := map[string]any{}
			for k := range res {
				if i < len(res[k]) && res[k][i] != nil {
					el[keys[k]] = res[k][i]
				}
			}
			list[i] = el
		}
		out["resources"] = list
	}
	merge(out, um, "")
	return out, nil
}

// RebuildJSON is Rebuild encoded as JSON.
func (s *Schema) RebuildJSON(row Values) ([]byte, error) {
	m, err := s.Rebuild(row)
	if err != nil {
		return nil, err
	}
	return json.Marshal(m)
}

func decode(t string, v any) error {
	d := json.NewDecoder(strings.NewReader(t))
	d.UseNumber()
	return d.Decode(v)
}

func setPath(m map[string]any, path []string, v any) {
	for _, k := range path[:len(path)-1] {
		next, ok := m[k].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[k] = next
		}
		m = next
	}
	m[path[len(path)-1]] = v
}

// structPaths are the dotted paths of the structs the schema flattens: an
// unmapped object there holds the struct's other keys and is merged.
var structPaths = func() map[string]bool {
	m := map[string]bool{}
	for _, d := range fields {
		parts := strings.Split(d.path, ".")
		if len(parts) < 2 || parts[0] == "resources" {
			continue
		}
		for i := 1; i < len(parts); i++ {
			m[strings.Join(parts[:i], ".")] = true
		}
	}
	return m
}()

func merge(dst, src map[string]any, prefix string) {
	for k, v := range src {
		p := k
		if prefix != "" {
			p = prefix + "." + k
		}
		if sv, ok := v.(map[string]any); ok && structPaths[p] {
			dv, ok := dst[k].(map[string]any)
			if !ok {
				dv = map[string]any{}
				dst[k] = dv
			}
			merge(dv, sv, p)
			continue
		}
		dst[k] = v
	}
}

// Equal reports whether two JSON documents are equal as JSON: same keys,
// values and types, whatever the key order and spacing.
func Equal(a, b []byte) (bool, error) {
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		return false, err
	}
	if err := json.Unmarshal(b, &y); err != nil {
		return false, err
	}
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	return bytes.Equal(xa, ya), nil
}
