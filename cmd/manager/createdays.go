package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/parquetrail/parquetrail/api/v1alpha1"
)

// maxBackfillDays bounds one create-days run: ten years of days.
const maxBackfillDays = 3660

// usageError is a wrong flag or argument: exit code 2.
type usageError struct{ error }

// createDays is "manager create-days": it makes the CloudTrailDays of every
// date from --from to --to (inclusive) from the same template as
// create-day, so that a backfill of a year is one command. Days that exist
// are left as they are; the operator runs the new ones a few at a time
// (--max-concurrent-days), oldest date first.
func createDays(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("create-days", flag.ContinueOnError)
	fs.SetOutput(out)
	template := fs.String("template", "", "file with a CloudTrailDay whose spec is the days' (spec.date is set here); its name is the prefix of the days' names (default: the YAML in $"+TemplateEnv+")")
	from := fs.String("from", "", "first date, YYYY-MM-DD (required)")
	to := fs.String("to", "", "last date, YYYY-MM-DD, included (required)")
	namespace := fs.String("namespace", "", "namespace of the days (default: the template's, else the pod's)")
	dryRun := fs.Bool("dry-run", false, "print the days instead of creating them")
	if err := fs.Parse(args); err != nil {
		return usageError{err}
	}
	dates, err := dateRange(*from, *to)
	if err != nil {
		return usageError{err}
	}
	b, source, err := readTemplate(*template, os.Getenv(TemplateEnv))
	if err != nil {
		return usageError{err}
	}
	t, err := parseTemplate(b)
	if err != nil {
		return usageError{fmt.Errorf("%s: %w", source, err)}
	}
	if *namespace != "" {
		t.Namespace = *namespace
	}
	if t.Namespace == "" {
		t.Namespace = podNamespace()
	}
	days := make([]*v1alpha1.CloudTrailDay, len(dates))
	for i, d := range dates {
		days[i] = dayOf(t, d)
	}
	if *dryRun {
		for _, d := range days {
			b, err := yaml.Marshal(d)
			if err != nil {
				return err
			}
			if _, err := fmt.Fprintf(out, "---\n%s", b); err != nil {
				return err
			}
		}
		return nil
	}
	scheme := runtime.NewScheme()
	if err := v1alpha1.AddToScheme(scheme); err != nil {
		return err
	}
	c, err := client.New(ctrl.GetConfigOrDie(), client.Options{Scheme: scheme})
	if err != nil {
		return err
	}
	return createAll(ctx, c, days, out)
}

// createAll creates the days, oldest first; a day that exists is counted
// and left alone, so that running the command again is harmless.
func createAll(ctx context.Context, c client.Client, days []*v1alpha1.CloudTrailDay, out io.Writer) error {
	created, existed := 0, 0
	for _, d := range days {
		switch err := c.Create(ctx, d); {
		case apierrors.IsAlreadyExists(err):
			existed++
		case err != nil:
			return fmt.Errorf("creating cloudtrailday %s/%s (%d of %d; %d created so far): %w", d.Namespace, d.Name, created+existed+1, len(days), created, err)
		default:
			created++
			fmt.Fprintf(out, "cloudtrailday %s/%s created for %s (%s)\n", d.Namespace, d.Name, d.Spec.Date, d.Spec.TimeZone)
		}
	}
	fmt.Fprintf(out, "%d days from %s to %s: %d created, %d already there\n", len(days), days[0].Spec.Date, days[len(days)-1].Spec.Date, created, existed)
	return nil
}

// dateRange is every date from from to to, both included.
func dateRange(from, to string) ([]string, error) {
	if from == "" || to == "" {
		return nil, errors.New("create-days needs --from DATE and --to DATE (YYYY-MM-DD)")
	}
	a, err := time.Parse(time.DateOnly, from)
	if err != nil {
		return nil, fmt.Errorf("--from %q is not a date (YYYY-MM-DD)", from)
	}
	b, err := time.Parse(time.DateOnly, to)
	if err != nil {
		return nil, fmt.Errorf("--to %q is not a date (YYYY-MM-DD)", to)
	}
	if b.Before(a) {
		return nil, fmt.Errorf("--to %s is before --from %s", to, from)
	}
	n := int(b.Sub(a).Hours()/24) + 1
	if n > maxBackfillDays {
		return nil, fmt.Errorf("--from %s --to %s is %d days; at most %d at once", from, to, n, maxBackfillDays)
	}
	dates := make([]string, 0, n)
	for d := a; !d.After(b); d = d.AddDate(0, 0, 1) {
		dates = append(dates, d.Format(time.DateOnly))
	}
	return dates, nil
}
