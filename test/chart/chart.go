// Package chart renders the Helm chart in charts/parquetrail with the real
// helm CLI (built by hack/helm.sh), for the chart's own tests and for the
// end-to-end suite, which applies what it renders to a control plane.
package chart

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// Root is the repository's root directory.
func Root() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// Dir is the chart's directory.
func Dir() string { return filepath.Join(Root(), "charts", "parquetrail") }

// Helm returns the helm binary: $HELM when set, else the one hack/helm.sh
// has cached. Without one the test is skipped, or fails when
// PARQUETRAIL_REQUIRE_ALL is set (make test builds helm first).
func Helm(t testing.TB) string {
	t.Helper()
	bin, err := find()
	if err == nil {
		return bin
	}
	if os.Getenv("PARQUETRAIL_REQUIRE_ALL") != "" {
		t.Fatalf("helm: %v (make helm builds it)", err)
	}
	t.Skipf("helm: %v; run make helm", err)
	return ""
}

func find() (string, error) {
	if h := os.Getenv("HELM"); h != "" {
		if _, err := exec.LookPath(h); err != nil {
			return "", fmt.Errorf("HELM=%s: %w", h, err)
		}
		return h, nil
	}
	script := filepath.Join(Root(), "hack", "helm.sh")
	out, err := exec.Command(script, "--print-path").Output()
	if err != nil {
		return "", fmt.Errorf("%s --print-path: %w", script, err)
	}
	bin := strings.TrimSpace(string(out))
	if _, err := os.Stat(bin); err != nil {
		return "", fmt.Errorf("not built: %w", err)
	}
	return bin, nil
}

// Run runs helm with args and returns its standard output; a failure
// returns an error with its standard error.
func Run(helm string, args ...string) (string, error) {
	cmd := exec.Command(helm, args...)
	// No repositories, plugins or kubeconfig of the machine's user.
	home, err := os.MkdirTemp("", "helm-home-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(home)
	cmd.Env = append(os.Environ(),
		"HELM_CONFIG_HOME="+filepath.Join(home, "config"),
		"HELM_CACHE_HOME="+filepath.Join(home, "cache"),
		"HELM_DATA_HOME="+filepath.Join(home, "data"),
		"KUBECONFIG="+filepath.Join(home, "no-kubeconfig"),
	)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("helm %s: %w\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String(), nil
}

// ValuesFile writes values as a YAML file in a test's temporary folder.
func ValuesFile(t testing.TB, values map[string]any) string {
	t.Helper()
	b, err := yaml.Marshal(values)
	if err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(t.TempDir(), "values.yaml")
	if err := os.WriteFile(f, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return f
}

// Template renders the chart as release name in namespace with values (and
// the CRDs, with --include-crds) and returns the manifests.
func Template(helm, release, namespace string, values map[string]any, extra ...string) (string, error) {
	args := []string{"template", release, Dir(), "--namespace", namespace}
	if values != nil {
		b, err := yaml.Marshal(values)
		if err != nil {
			return "", err
		}
		f, err := os.CreateTemp("", "values-*.yaml")
		if err != nil {
			return "", err
		}
		defer os.Remove(f.Name())
		if _, err := f.Write(b); err != nil {
			return "", err
		}
		f.Close()
		args = append(args, "--values", f.Name())
	}
	return Run(helm, append(args, extra...)...)
}

// Render is Template for a test: it fails the test on an error.
func Render(t testing.TB, release, namespace string, values map[string]any, extra ...string) []*unstructured.Unstructured {
	t.Helper()
	out, err := Template(Helm(t), release, namespace, values, extra...)
	if err != nil {
		t.Fatal(err)
	}
	objs, err := Objects(out)
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

// Objects splits rendered manifests into objects, skipping empty documents.
func Objects(manifests string) ([]*unstructured.Unstructured, error) {
	var out []*unstructured.Unstructured
	d := utilyaml.NewYAMLOrJSONDecoder(strings.NewReader(manifests), 4096)
	for {
		var m map[string]any
		if err := d.Decode(&m); err != nil {
			if errors.Is(err, io.EOF) {
				return out, nil
			}
			return nil, err
		}
		if len(m) == 0 {
			continue
		}
		out = append(out, &unstructured.Unstructured{Object: m})
	}
}

// Find returns the rendered object of a kind whose name ends in suffix.
func Find(objs []*unstructured.Unstructured, kind, suffix string) *unstructured.Unstructured {
	for _, o := range objs {
		if o.GetKind() == kind && strings.HasSuffix(o.GetName(), suffix) {
			return o
		}
	}
	return nil
}
