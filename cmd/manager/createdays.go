package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/parquetrail/parquetrail/api/v1alpha1"
	"github.com/parquetrail/parquetrail/internal/cli"
	"github.com/parquetrail/parquetrail/internal/problem"
)

// maxBackfillDays bounds one create-days run: ten years of days.
const maxBackfillDays = 3660

func (a *app) createDaysCommand() *cobra.Command {
	var f dayFlags
	cmd := &cobra.Command{
		Use:     "create-days --from DATE --to DATE [--template FILE]",
		Short:   "Create the CloudTrailDays of a range of dates from a template (a backfill)",
		GroupID: "days",
		Long: `Create the CloudTrailDays of every date from --from to --to (both included)
from the same template as create-day, so that a backfill of a year is one
command. Days that exist are left as they are, so running it again is
harmless; the operator runs the new days a few at a time
(--max-concurrent-days), oldest date first.

` + templateLong,
		Example: `  # a backfill of 2025
  manager create-days --template day.yaml --from 2025-01-01 --to 2025-12-31

  # the days it would create, as YAML
  manager create-days --template day.yaml --from 2026-01-01 --to 2026-01-07 --dry-run`,
		Args: cli.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f.templateEnv, _ = a.getenv(TemplateEnv)
			return createDays(cmd.Context(), f, cmd.OutOrStdout())
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&f.template, "template", "", templateHelp)
	fs.StringVar(&f.from, "from", "", "first date, YYYY-MM-DD (required)")
	fs.StringVar(&f.to, "to", "", "last date, YYYY-MM-DD, included (required)")
	fs.StringVar(&f.namespace, "namespace", "", "namespace of the days (default: the template's, else the pod's)")
	fs.BoolVar(&f.dryRun, "dry-run", false, "print the days instead of creating them")
	cli.LogFormatFlag(fs, new(string), "text")
	return cmd
}

// createDays makes the CloudTrailDays of every date from f.from to f.to
// (inclusive) from the same template as create-day.
func createDays(ctx context.Context, f dayFlags, out io.Writer) error {
	dates, err := dateRange(f.from, f.to)
	if err != nil {
		return problem.Usage(err)
	}
	b, source, err := readTemplate(f.template, f.templateEnv)
	if err != nil {
		return problem.Usage(err)
	}
	t, err := parseTemplate(b)
	if err != nil {
		return problem.Usage(fmt.Errorf("%s: %w", source, err))
	}
	if f.namespace != "" {
		t.Namespace = f.namespace
	}
	if t.Namespace == "" {
		t.Namespace = podNamespace()
	}
	days := make([]*v1alpha1.CloudTrailDay, len(dates))
	for i, d := range dates {
		days[i] = dayOf(t, d)
	}
	if f.dryRun {
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
	c, err := newClient()
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
