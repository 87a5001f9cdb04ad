package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/parquetrail/parquetrail/api/v1alpha1"
	"github.com/parquetrail/parquetrail/internal/window"
)

// TemplateLabel names, on a day made by create-day, the template it came from.
const TemplateLabel = "parquetrail.io/template"

// TemplateEnv holds the template's YAML when --template names no file: a
// CronJob can take it from a ConfigMap key without mounting a volume.
const TemplateEnv = "PARQUETRAIL_DAY_TEMPLATE"

// createDay is "manager create-day": it makes the CloudTrailDay of a recent
// date (yesterday by default, in the template's time zone) from a template,
// for a CronJob to run every day. Running it twice for a date is harmless.
func createDay(ctx context.Context, args []string, now time.Time) error {
	fs := flag.NewFlagSet("create-day", flag.ContinueOnError)
	template := fs.String("template", "", "file with a CloudTrailDay whose spec is the days' (spec.date is set here); its name is the prefix of the days' names (default: the YAML in $"+TemplateEnv+")")
	daysAgo := fs.Int("days-ago", 1, "how many days before today, in the template's time zone")
	namespace := fs.String("namespace", "", "namespace of the day (default: the template's, else the pod's)")
	dryRun := fs.Bool("dry-run", false, "print the day instead of creating it")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *daysAgo < 0 {
		return errors.New("create-day needs --days-ago of 0 or more")
	}
	b, source, err := readTemplate(*template, os.Getenv(TemplateEnv))
	if err != nil {
		return err
	}
	day, err := dayFromTemplate(b, now, *daysAgo)
	if err != nil {
		return fmt.Errorf("%s: %w", source, err)
	}
	if *namespace != "" {
		day.Namespace = *namespace
	}
	if day.Namespace == "" {
		day.Namespace = podNamespace()
	}
	if *dryRun {
		out, err := yaml.Marshal(day)
		if err != nil {
			return err
		}
		_, err = os.Stdout.Write(out)
		return err
	}
	scheme := runtime.NewScheme()
	if err := v1alpha1.AddToScheme(scheme); err != nil {
		return err
	}
	c, err := client.New(ctrl.GetConfigOrDie(), client.Options{Scheme: scheme})
	if err != nil {
		return err
	}
	switch err := c.Create(ctx, day); {
	case apierrors.IsAlreadyExists(err):
		// A second run for the same date (a retried or manual Job).
		fmt.Printf("cloudtrailday %s/%s already exists; nothing to do\n", day.Namespace, day.Name)
		return nil
	case err != nil:
		return err
	}
	fmt.Printf("cloudtrailday %s/%s created for %s (%s)\n", day.Namespace, day.Name, day.Spec.Date, day.Spec.TimeZone)
	return nil
}

// readTemplate reads the template from the file at path or, without a
// path, from env (the value of TemplateEnv); source names where it came from.
func readTemplate(path, env string) (b []byte, source string, err error) {
	if path != "" {
		b, err = os.ReadFile(path)
		return b, path, err
	}
	if strings.TrimSpace(env) == "" {
		return nil, "", fmt.Errorf("create-day needs --template FILE, or the template in $%s", TemplateEnv)
	}
	return []byte(env), "$" + TemplateEnv, nil
}

// dayFromTemplate returns the day daysAgo days before now's date in the
// template's time zone, named "<template name>-<date>".
func dayFromTemplate(b []byte, now time.Time, daysAgo int) (*v1alpha1.CloudTrailDay, error) {
	t, err := parseTemplate(b)
	if err != nil {
		return nil, err
	}
	date, err := dateBefore(now, t.Spec.TimeZone, daysAgo)
	if err != nil {
		return nil, err
	}
	return dayOf(t, date), nil
}

// parseTemplate reads a day template: a CloudTrailDay whose name is the
// prefix of the days' names.
func parseTemplate(b []byte) (*v1alpha1.CloudTrailDay, error) {
	var t v1alpha1.CloudTrailDay
	if err := yaml.UnmarshalStrict(b, &t); err != nil {
		return nil, err
	}
	if t.Kind != "" && (t.Kind != "CloudTrailDay" || t.APIVersion != v1alpha1.GroupVersion.String()) {
		return nil, fmt.Errorf("a template is a %s CloudTrailDay, not a %s %s", v1alpha1.GroupVersion, t.APIVersion, t.Kind)
	}
	if t.Name == "" {
		return nil, errors.New("the template needs a name, the prefix of the days' names")
	}
	return &t, nil
}

// dayOf is the template's day for date, named "<template name>-<date>".
func dayOf(t *v1alpha1.CloudTrailDay, date string) *v1alpha1.CloudTrailDay {
	day := &v1alpha1.CloudTrailDay{
		TypeMeta: t.TypeMeta,
		Spec:     *t.Spec.DeepCopy(),
	}
	day.APIVersion, day.Kind = v1alpha1.GroupVersion.String(), "CloudTrailDay"
	day.Name = strings.TrimSuffix(t.Name, "-") + "-" + date
	day.Namespace = t.Namespace
	day.Labels = map[string]string{TemplateLabel: t.Name}
	for k, v := range t.Labels {
		day.Labels[k] = v
	}
	day.Annotations = t.Annotations
	day.Spec.Date = date
	return day
}

// dateBefore is the calendar date daysAgo days before now's date in zone.
func dateBefore(now time.Time, zone string, daysAgo int) (string, error) {
	// window.New checks the zone as the controller will (and refuses Local).
	w, err := window.New(now.UTC().Format(time.DateOnly), zone)
	if err != nil {
		return "", err
	}
	local := now.In(w.Zone)
	// Noon never falls into a DST gap.
	d := time.Date(local.Year(), local.Month(), local.Day()-daysAgo, 12, 0, 0, 0, w.Zone)
	return d.Format(time.DateOnly), nil
}

// podNamespace is the namespace the pod runs in, or "default".
func podNamespace() string {
	if ns := os.Getenv("POD_NAMESPACE"); ns != "" {
		return ns
	}
	if b, err := os.ReadFile("/var/run/secrets/kubernetes.io/serviceaccount/namespace"); err == nil {
		return strings.TrimSpace(string(b))
	}
	return "default"
}
