package integration

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/parquetrail/parquetrail/api/v1alpha1"
	"github.com/parquetrail/parquetrail/internal/controllertest"
)

// TestValidation creates objects against the CRD's schema and CEL rules.
// Each is a valid day changed in one way; wantErr is a piece of the API
// server's message, or "" for a valid object.
func TestValidation(t *testing.T) {
	ctx, ns := setup(t)
	base := func() *controllertest.DayWrapper { return controllertest.MakeDay("v", ns) }
	cases := []struct {
		name    string
		day     *controllertest.DayWrapper
		change  func(*v1alpha1.CloudTrailDay)
		wantErr string
	}{
		{name: "valid", day: base()},
		{name: "defaults only", change: func(d *v1alpha1.CloudTrailDay) {
			d.Spec = v1alpha1.CloudTrailDaySpec{
				Date:        "2026-11-24",
				Source:      v1alpha1.TrailSource{ObjectStore: v1alpha1.ObjectStore{Bucket: "trail"}},
				Destination: v1alpha1.ObjectStore{Bucket: "lake"},
			}
		}},
		{name: "seed", day: base().TimeZone("Asia/Seoul").Columns(v1alpha1.ColumnsSeed, "eventtime_kst")},
		{name: "s3-compatible", day: base().Endpoint("http://127.0.0.1:9000", "us-east-1").CredentialsSecret("s3")},
		{name: "organization", change: func(d *v1alpha1.CloudTrailDay) {
			d.Spec.Source.OrganizationID = "o-a1b2c3d4e5"
			d.Spec.Source.Accounts = []string{"111122223333"}
			d.Spec.Source.Regions = []string{"us-east-1", "ap-northeast-2", "us-gov-west-1"}
		}},

		{name: "date pattern", day: base().Date("2026-1-24"), wantErr: "spec.date"},
		{name: "date not a day", day: base().Date("2026-02-30"), wantErr: "spec.date"},
		{name: "date with time", day: base().Date("2026-11-24T00"), wantErr: "spec.date"},
		{name: "zone Local", day: base().TimeZone("Local"), wantErr: "not Local"},
		{name: "zone pattern", day: base().TimeZone("Asia/../etc"), wantErr: "spec.timeZone"},
		{name: "zone too long", day: base().TimeZone("A" + strings.Repeat("b", 64)), wantErr: "spec.timeZone"},
		{name: "bucket", day: base().Source("Trail_Logs", ""), wantErr: "spec.source.bucket"},
		{name: "prefix slash", day: base().Source("trail", "/logs"), wantErr: "prefix must not start with a slash"},
		{name: "prefix empty segment", day: base().Destination("lake", "a//b"), wantErr: "empty segment"},
		{name: "prefix too long", day: base().Destination("lake", strings.Repeat("p", 513)), wantErr: "spec.destination.prefix"},
		{name: "endpoint not a URL", change: func(d *v1alpha1.CloudTrailDay) { d.Spec.Source.Endpoint = "minio:9000" }, wantErr: "endpoint must be an http or https URL"},
		{name: "endpoint ftp", change: func(d *v1alpha1.CloudTrailDay) { d.Spec.Destination.Endpoint = "ftp://x.example" }, wantErr: "endpoint must be an http or https URL"},
		{name: "organization ID", change: func(d *v1alpha1.CloudTrailDay) { d.Spec.Source.OrganizationID = "a1b2c3d4e5" }, wantErr: "spec.source.organizationID"},
		{name: "account", day: base().Accounts("1234"), wantErr: "spec.source.accounts[0]"},
		{name: "account repeated", day: base().Accounts("111122223333", "111122223333"), wantErr: "Duplicate value"},
		{name: "region", day: base().Regions("US-EAST-1"), wantErr: "spec.source.regions[0]"},
		{name: "too many regions", change: func(d *v1alpha1.CloudTrailDay) {
			for i := range 65 {
				d.Spec.Source.Regions = append(d.Spec.Source.Regions, fmt.Sprintf("us-east-%d", i+1))
			}
		}, wantErr: "must have at most 64 items"},
		{name: "columns", day: base().Columns("all", "eventtime_local"), wantErr: `supported values: "full", "seed"`},
		{name: "local time column reserved", day: base().Columns(v1alpha1.ColumnsSeed, "proc_ymd"), wantErr: "must not be eventtime or proc_ymd"},
		{name: "local time column pattern", day: base().Columns(v1alpha1.ColumnsSeed, "EventTime-KST"), wantErr: "spec.localTimeColumn"},
		{name: "late arrival too long", day: base().LateArrival(200 * time.Hour), wantErr: "lateArrival must be between 0s and 168h"},
		{name: "late arrival negative", day: base().LateArrival(-time.Minute), wantErr: "lateArrival must be between 0s and 168h"},
		{name: "on malformed", day: base().OnMalformed("Ignore"), wantErr: `supported values: "Fail", "Report"`},
		{name: "compression", change: func(d *v1alpha1.CloudTrailDay) { d.Spec.Compression = "lz4" }, wantErr: "spec.compression"},
		{name: "parallelism", day: base().Parallelism(0), wantErr: "spec.workers.parallelism"},
		{name: "shard size small", day: base().TargetShardSize("100Ki"), wantErr: "targetShardSize must be between 1Mi and 64Gi"},
		{name: "shard size large", day: base().TargetShardSize("1Ti"), wantErr: "targetShardSize must be between 1Mi and 64Gi"},
		{name: "backoff", change: func(d *v1alpha1.CloudTrailDay) { d.Spec.Workers.BackoffLimitPerIndex = ptr.To[int32](11) }, wantErr: "spec.workers.backoffLimitPerIndex"},
		{name: "service account", change: func(d *v1alpha1.CloudTrailDay) { d.Spec.Workers.ServiceAccountName = "Reader" }, wantErr: "spec.workers.serviceAccountName"},

		{name: "destination is the source", day: base().Source("same", "logs").Destination("same", "logs"), wantErr: "destination must not be the source's bucket and prefix"},
		{name: "destination beside the source", day: base().Source("same", "").Destination("same", "parquet")},
		{name: "secret on one side", change: func(d *v1alpha1.CloudTrailDay) {
			d.Spec.Source.CredentialsSecret = &v1alpha1.CredentialsSecretReference{Name: "s3"}
		}, wantErr: "must name the same credentialsSecret"},
		{name: "two secrets", change: func(d *v1alpha1.CloudTrailDay) {
			d.Spec.Source.CredentialsSecret = &v1alpha1.CredentialsSecretReference{Name: "a"}
			d.Spec.Destination.CredentialsSecret = &v1alpha1.CredentialsSecretReference{Name: "b"}
		}, wantErr: "must name the same credentialsSecret"},
		{name: "two regions", change: func(d *v1alpha1.CloudTrailDay) {
			d.Spec.Source.Region, d.Spec.Destination.Region = "us-east-1", "eu-west-1"
		}, wantErr: "region must be the same"},
		{name: "path style on one side", change: func(d *v1alpha1.CloudTrailDay) { d.Spec.Source.PathStyle = ptr.To(true) }, wantErr: "must agree on pathStyle"},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := c.day
			if w == nil {
				w = base()
			}
			d := w.Clone().Obj()
			d.Name = "v" + strings.ToLower(strings.ReplaceAll(c.name, " ", "-"))
			if len(d.Name) > 50 {
				d.Name = d.Name[:50]
			}
			d.Name += "-" + string(rune('a'+i%26))
			if c.change != nil {
				c.change(d)
			}
			err := k8s.Create(ctx, d, client.DryRunAll)
			switch {
			case c.wantErr == "" && err != nil:
				t.Fatalf("Create: %v", err)
			case c.wantErr != "" && err == nil:
				t.Fatalf("Create succeeded, want an error with %q", c.wantErr)
			case c.wantErr != "" && (!apierrors.IsInvalid(err) || !strings.Contains(err.Error(), c.wantErr)):
				t.Fatalf("Create: %v, want an Invalid error with %q", err, c.wantErr)
			}
		})
	}
}

// TestDefaults checks that the API server fills in what a spec leaves out.
func TestDefaults(t *testing.T) {
	ctx, ns := setup(t)
	d := &v1alpha1.CloudTrailDay{
		ObjectMeta: metav1.ObjectMeta{Name: "defaults", Namespace: ns},
		Spec: v1alpha1.CloudTrailDaySpec{
			Date:        "2026-11-24",
			Source:      v1alpha1.TrailSource{ObjectStore: v1alpha1.ObjectStore{Bucket: "trail"}},
			Destination: v1alpha1.ObjectStore{Bucket: "lake"},
		},
	}
	if err := k8s.Create(ctx, d, client.DryRunAll); err != nil {
		t.Fatal(err)
	}
	s := d.Spec
	w := s.Workers
	if s.TimeZone != "UTC" || s.Columns != "full" || s.LocalTimeColumn != "eventtime_local" || s.LateArrival.Duration != time.Hour ||
		!*s.Deduplicate || s.OnMalformed != "Report" || s.Compression != "zstd" ||
		*w.Parallelism != 4 || w.TargetShardSize.Cmp(resource.MustParse("256Mi")) != 0 || *w.BackoffLimitPerIndex != 3 || *w.TTLSecondsAfterFinished != 86400 {
		t.Errorf("defaults not applied: %+v", s)
	}
}

// TestImmutableOnceStarted: the date, zone, source and destination can be
// corrected while the day waits, not after it started.
func TestImmutableOnceStarted(t *testing.T) {
	ctx, ns := setup(t)
	d := controllertest.MakeDay("immutable", ns).Date("2099-01-01").Obj()
	if err := k8s.Create(ctx, d); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { deleteDays(t, ns) })
	key := client.ObjectKeyFromObject(d)
	// Waiting: a correction is allowed.
	if err := updateDay(ctx, key, func(d *v1alpha1.CloudTrailDay) {
		d.Spec.Date = "2099-01-02"
		d.Spec.Source.Prefix = "org"
	}); err != nil {
		t.Fatalf("correcting a waiting day: %v", err)
	}
	// Started (as the controller marks it).
	eventually(t, "the day is reconciled", func() error {
		if err := k8s.Get(ctx, client.ObjectKeyFromObject(d), d); err != nil {
			return err
		}
		if d.Status.Window == nil {
			return errNotYet
		}
		return nil
	})
	if err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if err := k8s.Get(ctx, key, d); err != nil {
			return err
		}
		now := metav1.Now()
		d.Status.StartTime = &now
		return k8s.Status().Update(ctx, d)
	}); err != nil {
		t.Fatal(err)
	}
	changes := map[string]func(*v1alpha1.CloudTrailDay){
		"date":        func(d *v1alpha1.CloudTrailDay) { d.Spec.Date = "2099-01-03" },
		"timeZone":    func(d *v1alpha1.CloudTrailDay) { d.Spec.TimeZone = "Asia/Seoul" },
		"source":      func(d *v1alpha1.CloudTrailDay) { d.Spec.Source.Accounts = []string{"111122223333"} },
		"destination": func(d *v1alpha1.CloudTrailDay) { d.Spec.Destination.Prefix = "elsewhere" },
	}
	for name, change := range changes {
		err := updateDay(ctx, key, change)
		if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "immutable once the day has started") {
			t.Errorf("changing %s of a started day: %v", name, err)
		}
	}
	// The rest of the spec can change (it applies to the next attempt).
	if err := updateDay(ctx, key, func(d *v1alpha1.CloudTrailDay) { d.Spec.Workers.Parallelism = ptr.To[int32](16) }); err != nil {
		t.Errorf("changing the workers of a started day: %v", err)
	}
}

// updateDay changes the live day and writes it, again on conflicts (the
// controller writes it too).
func updateDay(ctx context.Context, key client.ObjectKey, change func(*v1alpha1.CloudTrailDay)) error {
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		d := &v1alpha1.CloudTrailDay{}
		if err := k8s.Get(ctx, key, d); err != nil {
			return err
		}
		change(d)
		return k8s.Update(ctx, d)
	})
}

// TestSamples checks that the samples in config/samples are valid.
func TestSamples(t *testing.T) {
	ctx, ns := setup(t)
	files, err := filepath.Glob(filepath.Join("..", "..", "config", "samples", "*.yaml"))
	if err != nil || len(files) < 3 {
		t.Fatalf("samples: %v %v", files, err)
	}
	for _, f := range files {
		if filepath.Base(f) == "kustomization.yaml" {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		u := &unstructured.Unstructured{}
		if err := utilyaml.Unmarshal(b, &u.Object); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		u.SetNamespace(ns)
		if err := k8s.Create(ctx, u, client.DryRunAll); err != nil {
			t.Errorf("%s: %v", filepath.Base(f), err)
		}
	}
}
