package defaults

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"
)

// TestCRDDefaults checks that the generated CRD's defaults (from the
// kubebuilder markers in api/v1alpha1) are this table's.
func TestCRDDefaults(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "config", "crd", "bases", "parquetrail.io_cloudtraildays.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var crd struct {
		Spec struct {
			Versions []struct {
				Schema struct {
					OpenAPIV3Schema struct {
						Properties struct {
							Spec struct {
								Properties map[string]struct {
									Default    any `json:"default"`
									Properties map[string]struct {
										Default any `json:"default"`
									} `json:"properties"`
								} `json:"properties"`
							} `json:"spec"`
						} `json:"properties"`
					} `json:"openAPIV3Schema"`
				} `json:"schema"`
			} `json:"versions"`
		} `json:"spec"`
	}
	if err := yaml.Unmarshal(b, &crd); err != nil {
		t.Fatal(err)
	}
	if len(crd.Spec.Versions) == 0 {
		t.Fatal("the CRD has no version")
	}
	props := crd.Spec.Versions[0].Schema.OpenAPIV3Schema.Properties.Spec.Properties
	got := map[string]any{}
	for _, name := range []string{"timeZone", "columns", "localTimeColumn", "compression", "deduplicate", "allowEmpty", "lateArrival", "onMalformed"} {
		got[name] = props[name].Default
	}
	for _, name := range []string{"maxMergeIndexes", "targetMergeRows"} {
		got["workers."+name] = props["workers"].Properties[name].Default
	}
	want := map[string]any{
		"timeZone":        TimeZone,
		"columns":         Columns,
		"localTimeColumn": LocalTimeColumn,
		"compression":     Compression,
		"deduplicate":     Deduplicate,
		"allowEmpty":      AllowEmpty,
		"lateArrival":     strings.TrimSuffix(LateArrival.String(), "0m0s"),
		"onMalformed":     OnMalformedCRD,
		// YAML numbers read as float64.
		"workers.maxMergeIndexes": float64(MaxMergeIndexes),
		"workers.targetMergeRows": float64(TargetMergeRows),
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("CRD defaults (-want +got):\n%s", diff)
	}
}
