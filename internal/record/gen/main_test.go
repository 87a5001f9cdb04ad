package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestGeneratedUpToDate fails when the committed generated files are not
// what the table in schema.go generates (run go generate ./internal/record).
func TestGeneratedUpToDate(t *testing.T) {
	out, err := generate("..")
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 2 {
		t.Fatalf("generated %d files, want 2", len(out))
	}
	for path, want := range out {
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(string(want), string(got)); diff != "" {
			t.Errorf("%s is stale; run go generate ./internal/record (-want +got):\n%s", path, diff)
		}
	}
}

// TestOneRow checks that one new row of the table is all a new field
// needs: its constant, and its key in the lookup at its struct's level
// (with the struct's own level and key when it is new).
func TestOneRow(t *testing.T) {
	schema, err := os.ReadFile("../schema.go")
	if err != nil {
		t.Fatal(err)
	}
	const last = "\t{FieldUnmapped, "
	for _, tc := range []struct {
		name string
		row  string
		want []string // in the fields file, then in the lookup file
	}{
		{"top-level", `{FieldNewThing, "newthing", String, true, "newThing"},`,
			[]string{"FieldNewThing // newThing", `case "newThing":` + "\n\t\t\treturn val(slotString, record.FieldNewThing)"}},
		{"in a known struct", `{FieldUIFoo, "useridentity_foo", JSON, true, "userIdentity.foo"},`,
			[]string{"FieldUIFoo // userIdentity.foo", `case "foo":` + "\n\t\t\treturn val(slotJSON, record.FieldUIFoo)"}},
		{"in a new struct", `{FieldBarBaz, "bar_baz", Bool, false, "bar.baz"},`,
			[]string{"FieldBarBaz // bar.baz", "lvBar // bar", `case "bar":` + "\n\t\t\treturn sub(lvBar)", "case lvBar:\n\t\tswitch string(k) {\n\t\tcase \"baz\":\n\t\t\treturn val(slotBool, record.FieldBarBaz)"}},
		{"deeper than before", `{FieldDeep, "deep", String, true, "a.b.c.d.e"},`,
			[]string{"FieldDeep // a.b.c.d.e", "const maxPath = 5"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := genWith(t, strings.Replace(string(schema), last, "\t"+tc.row+"\n"+last, 1))
			// gofmt aligns the comments: compare with blanks collapsed.
			got = strings.Join(strings.Fields(got), " ")
			for _, w := range tc.want {
				if !strings.Contains(got, strings.Join(strings.Fields(w), " ")) {
					t.Errorf("the output has no %q", w)
				}
			}
		})
	}
}

func TestTableErrors(t *testing.T) {
	schema, err := os.ReadFile("../schema.go")
	if err != nil {
		t.Fatal(err)
	}
	const last = "\t{FieldUnmapped, "
	for _, tc := range []struct {
		name, row, want string
	}{
		{"twice", `{FieldEventName, "x", String, true, "x"},`, "FieldEventName is in the table twice"},
		{"same key", `{FieldX, "x", String, true, "eventName"},`, `key "eventName" of "" is in the table twice`},
		{"list elsewhere", `{FieldX, "x", StringList, true, "other.ARN"},`, "list fields are the keys of one top-level array"},
		{"no slot", `{FieldX, "x", TimeLocal, true, "x"},`, "no slot for kind TimeLocal"},
		{"not a constant", `{"x", "x", String, true, "x"},`, "a row of fields is"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			src := strings.Replace(string(schema), last, "\t"+tc.row+"\n"+last, 1)
			if err := os.WriteFile(filepath.Join(dir, "schema.go"), []byte(src), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := generate(dir)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// genWith generates from a schema.go of the given text and returns both
// outputs, fields first.
func genWith(t *testing.T, schema string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "schema.go"), []byte(schema), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := generate(dir)
	if err != nil {
		t.Fatal(err)
	}
	return string(out[filepath.Join(dir, fieldsFile)]) + string(out[filepath.Join(dir, lookupFile)])
}
