// Command chartdocs writes the values table of the Helm chart's README
// (charts/parquetrail/README.md, between its values markers) from
// values.yaml: each key, its type, its default, and the comment above it
// that starts with "# --" (helm-docs' convention, so either tool reads the
// same file). With --check it writes nothing and exits 1 when the README is
// stale; test/chart runs it so.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"go.yaml.in/yaml/v3"
)

const (
	begin = "<!-- values:begin (hack/chartdocs writes this table from values.yaml) -->"
	end   = "<!-- values:end -->"
)

func main() {
	chart := flag.String("chart", "charts/parquetrail", "the chart's directory")
	check := flag.Bool("check", false, "exit 1 when the README's table is stale, writing nothing")
	flag.Parse()
	if err := run(*chart, *check); err != nil {
		fmt.Fprintln(os.Stderr, "chartdocs:", err)
		if strings.Contains(err.Error(), "stale") {
			os.Exit(1)
		}
		os.Exit(2)
	}
}

func run(chart string, check bool) error {
	values, err := os.ReadFile(filepath.Join(chart, "values.yaml"))
	if err != nil {
		return err
	}
	table, err := Table(values)
	if err != nil {
		return fmt.Errorf("%s: %w", filepath.Join(chart, "values.yaml"), err)
	}
	readme := filepath.Join(chart, "README.md")
	old, err := os.ReadFile(readme)
	if err != nil {
		return err
	}
	i, j := bytes.Index(old, []byte(begin)), bytes.Index(old, []byte(end))
	if i < 0 || j < i {
		return fmt.Errorf("%s: no %q ... %q markers", readme, begin, end)
	}
	var b bytes.Buffer
	b.Write(old[:i+len(begin)])
	b.WriteString("\n" + table)
	b.Write(old[j:])
	if bytes.Equal(b.Bytes(), old) {
		return nil
	}
	if check {
		return fmt.Errorf("%s is stale: run go run ./hack/chartdocs (make chart-docs) and commit it", readme)
	}
	return os.WriteFile(readme, b.Bytes(), 0o644)
}

type row struct{ key, typ, def, doc string }

// Table renders the Markdown table of values.yaml's keys.
func Table(values []byte) (string, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(values, &doc); err != nil {
		return "", err
	}
	if len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return "", fmt.Errorf("not a mapping")
	}
	var rows []row
	if err := walk(doc.Content[0], "", &rows); err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString("| key | type | default | description |\n|---|---|---|---|\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", r.key, r.typ, r.def, r.doc)
	}
	return b.String(), nil
}

// walk adds a row per leaf: a scalar, a list, or a mapping that is empty
// or documented with "# --" as a whole.
func walk(m *yaml.Node, prefix string, rows *[]row) error {
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		key := prefix + k.Value
		doc := describe(k.HeadComment)
		if v.Kind == yaml.MappingNode && len(v.Content) > 0 && doc == "" {
			if err := walk(v, key+".", rows); err != nil {
				return err
			}
			continue
		}
		def, typ, err := render(v)
		if err != nil {
			return fmt.Errorf("%s (line %d): %w", key, k.Line, err)
		}
		*rows = append(*rows, row{key: key, typ: typ, def: def, doc: doc})
	}
	return nil
}

// describe returns the "# --" part of a head comment, its lines joined.
func describe(comment string) string {
	var parts []string
	in := false
	for _, line := range strings.Split(comment, "\n") {
		line = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(line), "#"))
		switch {
		case strings.HasPrefix(line, "--"):
			in = true
			parts = append(parts, strings.TrimSpace(strings.TrimPrefix(line, "--")))
		case in && line != "":
			parts = append(parts, line)
		case in:
			in = false
		}
	}
	return strings.ReplaceAll(strings.Join(parts, " "), "|", `\|`)
}

// render gives a value's default as compact JSON in backticks, and its type.
func render(v *yaml.Node) (string, string, error) {
	var x any
	if err := v.Decode(&x); err != nil {
		return "", "", err
	}
	typ := "string"
	switch x.(type) {
	case bool:
		typ = "bool"
	case int, int64, uint64:
		typ = "int"
	case float64:
		typ = "float"
	case []any:
		typ = "list"
	case map[string]any:
		typ = "object"
	case nil:
		typ = "null"
	}
	b, err := json.Marshal(x)
	if err != nil {
		return "", "", err
	}
	s := strings.ReplaceAll(string(b), "|", `\|`)
	if s == `""` {
		return "`\"\"`", typ, nil
	}
	return "`" + s + "`", typ, nil
}
