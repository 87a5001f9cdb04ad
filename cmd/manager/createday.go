package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/parquetrail/parquetrail/api/v1alpha1"
	"github.com/parquetrail/parquetrail/internal/cli"
	"github.com/parquetrail/parquetrail/internal/problem"
	"github.com/parquetrail/parquetrail/internal/window"
)

// TemplateLabel names, on a day made by create-day, the template it came from.
const TemplateLabel = "parquetrail.io/template"

// TemplateEnv holds the template's YAML when --template names no file: a
// CronJob can take it from a ConfigMap key without mounting a volume.
const TemplateEnv = "PARQUETRAIL_DAY_TEMPLATE"

// dayFlags are create-day's and create-days' settings.
type dayFlags struct {
	template    string
	templateEnv string // the value of $PARQUETRAIL_DAY_TEMPLATE
	namespace   string
	dryRun      bool
	daysAgo     int    // create-day
	from, to    string // create-days
}

const templateHelp = "file with a CloudTrailDay whose spec is the days' (spec.date is set here); its name is the prefix of the days' names (default: the YAML in $" + TemplateEnv + ")"

const templateLong = `The template is a CloudTrailDay without spec.date: its spec is every day's, its
name the prefix of the days' names ("<name>-<date>"), and its labels are
copied. --template names its file; without it, the template's YAML is read
from $` + TemplateEnv + ` (a CronJob can take it from a ConfigMap key
without mounting a volume).`

func (a *app) createDayCommand() *cobra.Command {
	var f dayFlags
	cmd := &cobra.Command{
		Use:     "create-day [--template FILE] [--days-ago N]",
		Short:   "Create the CloudTrailDay of yesterday from a template (a daily CronJob)",
		GroupID: "days",
		Long: `Create the CloudTrailDay of a recent date (yesterday by default, in the
template's time zone) from a template, for a CronJob to run every day. Running
it twice for a date is harmless: a day that exists is left as it is.

` + templateLong,
		Example: `  # yesterday's day in the template's time zone
  manager create-day --template /etc/parquetrail/day.yaml

  # the day before yesterday, printed instead of created
  manager create-day --template day.yaml --days-ago 2 --dry-run`,
		Args: cli.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f.templateEnv, _ = a.getenv(TemplateEnv)
			return createDay(cmd.Context(), f, time.Now(), cmd.OutOrStdout())
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&f.template, "template", "", templateHelp)
	fs.IntVar(&f.daysAgo, "days-ago", 1, "how many days before today, in the template's time zone")
	fs.StringVar(&f.namespace, "namespace", "", "namespace of the day (default: the template's, else the pod's)")
	fs.BoolVar(&f.dryRun, "dry-run", false, "print the day instead of creating it")
	cli.LogFormatFlag(fs, new(string), "text")
	return cmd
}

// createDay makes the CloudTrailDay of a recent date (yesterday by default,
// in the template's time zone) from a template, for a CronJob to run every
// day. Running it twice for a date is harmless.
func createDay(ctx context.Context, f dayFlags, now time.Time, out io.Writer) error {
	if f.daysAgo < 0 {
		return problem.Usage(errors.New("create-day needs --days-ago of 0 or more"))
	}
	b, source, err := readTemplate(f.template, f.templateEnv)
	if err != nil {
		return problem.Usage(err)
	}
	day, err := dayFromTemplate(b, now, f.daysAgo)
	if err != nil {
		return problem.Usage(fmt.Errorf("%s: %w", source, err))
	}
	if f.namespace != "" {
		day.Namespace = f.namespace
	}
	if day.Namespace == "" {
		day.Namespace = podNamespace()
	}
	if f.dryRun {
		b, err := yaml.Marshal(day)
		if err != nil {
			return err
		}
		_, err = out.Write(b)
		return err
	}
	c, err := newClient()
	if err != nil {
		return err
	}
	switch err := c.Create(ctx, day); {
	case apierrors.IsAlreadyExists(err):
		// A second run for the same date (a retried or manual Job).
		_, err = fmt.Fprintf(out, "cloudtrailday %s/%s already exists; nothing to do\n", day.Namespace, day.Name)
		return err
	case err != nil:
		return fmt.Errorf("creating cloudtrailday %s/%s: %w", day.Namespace, day.Name, err)
	}
	_, err = fmt.Fprintf(out, "cloudtrailday %s/%s created for %s (%s)\n", day.Namespace, day.Name, day.Spec.Date, day.Spec.TimeZone)
	return err
}

// newClient is a client of the API server that --kubeconfig, $KUBECONFIG
// or the pod's service account names; no config is a settings error.
func newClient() (client.Client, error) {
	cfg, err := ctrl.GetConfig()
	if err != nil {
		return nil, problem.Usage(fmt.Errorf("the API server's config: %w", err))
	}
	scheme := runtime.NewScheme()
	if err := v1alpha1.AddToScheme(scheme); err != nil {
		return nil, err
	}
	return client.New(cfg, client.Options{Scheme: scheme})
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
