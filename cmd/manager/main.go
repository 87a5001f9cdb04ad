// Command manager runs the parquetrail operator: the CloudTrailDay
// controller, with its metrics and health endpoints. "manager create-day"
// makes the CloudTrailDay of yesterday from a template, for a daily CronJob;
// "manager create-days --from DATE --to DATE" makes a range of them from
// the same template, for a backfill; "manager self-check" is the chart's
// helm test.
//
// Exit codes: 0 done, 1 failed (a retry may help), 2 usage or settings.
package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/go-logr/logr"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
	"sigs.k8s.io/controller-runtime/pkg/metrics/filters"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/parquetrail/parquetrail/api/v1alpha1"
	"github.com/parquetrail/parquetrail/controllers"
	"github.com/parquetrail/parquetrail/internal/cli"
	"github.com/parquetrail/parquetrail/internal/problem"
	"github.com/parquetrail/parquetrail/internal/store"
)

// version is set at build time with -ldflags "-X main.version=..."; without
// it, the version comes from the build info (see cli.Version).
var version = ""

func main() {
	os.Exit(run(ctrl.SetupSignalHandler(), os.Args[1:], os.Stdout, os.Stderr))
}

// run runs one command line and returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	a := &app{stdout: stdout, stderr: stderr, getenv: os.LookupEnv}
	root := a.rootCommand()
	root.SetArgs(args)
	return cli.Exit(root.ExecuteContext(ctx), "manager", stderr, a.jsonLog)
}

// app is one invocation: where output goes, how the environment is read,
// and the JSON logger for its errors when its --log-format is json.
type app struct {
	stdout, stderr io.Writer
	getenv         func(string) (string, bool)
	jsonLog        *slog.Logger
}

const rootLong = `manager runs the parquetrail operator: it reconciles CloudTrailDays, each one day
of AWS CloudTrail logs to convert into Parquet, by running shard-worker's plan,
flatten and merge as Kubernetes Jobs. Its commands make CloudTrailDays from a
template (a daily CronJob, a backfill) and check an installation from inside
the cluster (the chart's helm test).

Every flag can also be set from an environment variable PARQUETRAIL_<FLAG>,
upper case with _ for -: --max-concurrent-days is PARQUETRAIL_MAX_CONCURRENT_DAYS.
A flag on the command line wins over the variable, and the variable over the
default.

Exit codes: 0 done, 1 failed (a retry may help), 2 usage or settings.`

func (a *app) rootCommand() *cobra.Command {
	m := &manager{}
	root := &cobra.Command{
		Use:   "manager [flags]",
		Short: "Run the parquetrail operator (the CloudTrailDay controller)",
		Long:  rootLong,
		Example: `  # the operator outside a cluster, on the kubeconfig's current context
  manager --kubeconfig ~/.kube/config --metrics-bind-address 0 --log-format text

  # what the chart runs
  manager --leader-elect=true --leader-election-namespace=parquetrail \
    --worker-image=ghcr.io/parquetrail/shard-worker:v0.1.0 --max-concurrent-days=4

  # a backfill of January, one CloudTrailDay per date
  manager create-days --template day.yaml --from 2026-01-01 --to 2026-01-31

  # shell completion (bash, zsh or fish)
  source <(manager completion bash)`,
		Version: cli.Version(version),
		Args:    cli.NoArgs,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			if err := cli.ApplyEnv(cmd, a.getenv); err != nil {
				return err
			}
			return a.setupLogging(cmd)
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			if m.printConfig {
				b, err := json.MarshalIndent(m, "", "  ")
				if err != nil {
					return err
				}
				_, err = fmt.Fprintf(cmd.OutOrStdout(), "%s\n", b)
				return err
			}
			return m.start(cmd.Context(), cmd.Flags())
		},
	}
	m.flags(root.Flags())
	if f := flag.CommandLine.Lookup("kubeconfig"); f != nil {
		// controller-runtime's: ctrl.GetConfig reads it, in every command.
		root.PersistentFlags().AddFlag(pflag.PFlagFromGoFlag(f))
		cli.Group(root.PersistentFlags(), "Kubernetes", "kubeconfig")
	}
	root.AddGroup(
		&cobra.Group{ID: "days", Title: "Make CloudTrailDays:"},
		&cobra.Group{ID: "checks", Title: "Check an installation:"},
		&cobra.Group{ID: "other", Title: "Other commands:"},
	)
	root.SetHelpCommandGroupID("other")
	root.SetCompletionCommandGroupID("other")
	root.AddCommand(a.createDayCommand(), a.createDaysCommand(), a.selfCheckCommand(), a.versionCommand())
	cli.Setup(root, a.stdout, a.stderr)
	return root
}

// setupLogging follows the running command's --log-format. The manager
// logs through zap (see start); the other commands log with slog, and
// controller-runtime's logger is set so that its clients log the same way.
func (a *app) setupLogging(cmd *cobra.Command) error {
	format := "text" // version, completion, help
	if f := cmd.Flags().Lookup("log-format"); f != nil {
		format = f.Value.String()
	}
	log, err := cli.NewLogger(format, a.stderr)
	if err != nil {
		return err
	}
	if format == "json" {
		a.jsonLog = log
	}
	if cmd.HasParent() {
		ctrl.SetLogger(logr.FromSlogHandler(log.Handler()))
	}
	return nil
}

func (a *app) versionCommand() *cobra.Command {
	return &cobra.Command{
		Use:     "version",
		Short:   "Print the version",
		GroupID: "other",
		Args:    cli.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprintln(cmd.OutOrStdout(), "manager", cli.Version(version))
			return err
		},
	}
}

// manager is the operator's settings, as its flags set them; --print-config
// shows them as JSON.
type manager struct {
	MetricsBindAddress      string
	MetricsSecure           bool
	HealthProbeBindAddress  string
	LeaderElect             bool
	LeaderElectionNamespace string
	MaxConcurrentReconciles int
	EnableHTTP2             bool
	Controller              controllers.Config

	logFormat   string
	zapOpts     zap.Options
	printConfig bool
}

// flags registers the manager's flags, with the names and defaults the
// chart and config/manager pass.
func (m *manager) flags(fs *pflag.FlagSet) {
	m.Controller = controllers.DefaultConfig()
	cfg := &m.Controller
	defaultImage := "ghcr.io/parquetrail/shard-worker:" + imageTag()
	fs.BoolVar(&m.LeaderElect, "leader-elect", false, "elect a leader, so that only one replica reconciles")
	fs.StringVar(&m.LeaderElectionNamespace, "leader-election-namespace", "", "namespace of the leader election lease (default: the pod's)")
	fs.IntVar(&m.MaxConcurrentReconciles, "max-concurrent-reconciles", 4, "CloudTrailDays reconciled at once (planning lists S3 in the reconcile)")
	fs.StringVar(&cfg.WorkerImage, "worker-image", defaultImage, "worker image for days whose spec names none")
	fs.StringVar(&cfg.WorkerServiceAccount, "worker-service-account", "", "service account of the worker pods for days whose spec names none")
	fs.Func("worker-resources", `worker container resources, as JSON ({"requests":{"cpu":"1","memory":"384Mi"},"limits":{"memory":"768Mi"}}), for days whose spec sets none`, func(v string) error {
		var rr corev1.ResourceRequirements
		if err := json.Unmarshal([]byte(v), &rr); err != nil {
			return fmt.Errorf("--worker-resources: %w", err)
		}
		cfg.WorkerResources = &rr
		return nil
	})
	fs.Func("worker-pod-defaults", `worker pod settings, as JSON in spec.workers' shape ({"podAnnotations":{"sidecar.istio.io/inject":"false"},"imagePullSecrets":[{"name":"registry"}],"priorityClassName":"batch","activeDeadlineSeconds":21600,"affinity":{...},"nodeSelector":{...},"tolerations":[...],"podLabels":{...}}), for days whose spec leaves them out`, func(v string) error {
		var w v1alpha1.Workers
		dec := json.NewDecoder(strings.NewReader(v))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&w); err != nil {
			return fmt.Errorf("--worker-pod-defaults: %w", err)
		}
		if w.Parallelism != nil || w.TargetShardSize != nil || w.Image != "" || w.Resources != nil || w.ServiceAccountName != "" ||
			w.BackoffLimitPerIndex != nil || w.TTLSecondsAfterFinished != nil || w.ScratchSizeLimit != nil || w.ImagePullPolicy != "" {
			return errors.New("--worker-pod-defaults takes only podAnnotations, podLabels, imagePullSecrets, affinity, priorityClassName, activeDeadlineSeconds, nodeSelector and tolerations")
		}
		cfg.WorkerPod = w
		return nil
	})
	fs.DurationVar(&cfg.PlanTimeout, "plan-timeout", cfg.PlanTimeout, "bound on listing and planning one day")
	fs.IntVar(&cfg.ListConcurrency, "list-concurrency", cfg.ListConcurrency, "S3 listings one plan runs at once")
	fs.IntVar(&cfg.MaxShards, "max-shards", cfg.MaxShards, "most shards of one day (a larger day gets larger shards)")
	fs.IntVar(&cfg.MaxConcurrentDays, "max-concurrent-days", cfg.MaxConcurrentDays, "days that plan, flatten or merge at once (0: no bound); the others wait as Queued, oldest date first")
	fs.Func("secret-namespaces", `comma-separated namespaces in which days may name a credentials Secret ("*": every namespace, which needs a cluster-wide grant); the manager reads only Secrets labelled `+v1alpha1.CredentialsLabel+`: "true"`, func(v string) error {
		cfg.SecretNamespaces = nil
		for _, ns := range strings.Split(v, ",") {
			if ns = strings.TrimSpace(ns); ns != "" {
				cfg.SecretNamespaces = append(cfg.SecretNamespaces, ns)
			}
		}
		return nil
	})
	fs.DurationVar(&cfg.LeaseTTL, "lease-ttl", 0, "the merge worker's lease on a day: how long a killed merge blocks the day (default: the worker's, 1m)")
	fs.StringVar(&m.MetricsBindAddress, "metrics-bind-address", ":8443", "address the metrics endpoint binds to; 0 disables it")
	fs.BoolVar(&m.MetricsSecure, "metrics-secure", true, "serve metrics over HTTPS, to clients the API server authenticates and authorizes")
	fs.StringVar(&m.HealthProbeBindAddress, "health-probe-bind-address", ":8081", "address the health and readiness probes bind to")
	fs.BoolVar(&m.EnableHTTP2, "enable-http2", false, "serve metrics over HTTP/2 too (off: HTTP/2 rapid-reset mitigations)")
	cli.LogFormatFlag(fs, &m.logFormat, "json")
	fs.Lookup("log-format").Usage += " (--zap-encoder wins over it)"
	// zap's flags (--zap-log-level, ...), as every controller-runtime manager has them.
	zapFlags := flag.NewFlagSet("zap", flag.ContinueOnError)
	m.zapOpts.BindFlags(zapFlags)
	fs.AddGoFlagSet(zapFlags)
	fs.BoolVar(&m.printConfig, "print-config", false, "print the settings from the flags and the environment as JSON, and exit without starting")
	for name, typ := range map[string]string{
		"worker-resources": "json", "worker-pod-defaults": "json", "secret-namespaces": "strings",
		"zap-encoder": "string", "zap-log-level": "level", "zap-stacktrace-level": "level", "zap-time-encoding": "string",
	} {
		f := fs.Lookup(name)
		f.Value = typed{f.Value, typ}
	}
	// Developer flags, hidden from the help.
	for _, name := range []string{"print-config", "zap-devel"} {
		if err := fs.MarkHidden(name); err != nil {
			panic(err)
		}
	}
	cli.Group(fs, "Kubernetes", "leader-elect", "leader-election-namespace", "max-concurrent-reconciles")
	cli.Group(fs, "Endpoint", "metrics-bind-address", "metrics-secure", "health-probe-bind-address", "enable-http2")
	cli.Group(fs, "Worker", "worker-image", "worker-service-account", "worker-resources", "worker-pod-defaults", "lease-ttl")
	cli.Group(fs, "Day", "plan-timeout", "list-concurrency", "max-shards", "max-concurrent-days", "secret-namespaces")
	cli.Group(fs, "Logging", "log-format", "zap-encoder", "zap-log-level", "zap-stacktrace-level", "zap-time-encoding")
}

// typed names a flag's value in the help ("--worker-resources json").
type typed struct {
	pflag.Value
	typ string
}

func (t typed) Type() string { return t.typ }

// start runs the manager until ctx ends.
func (m *manager) start(ctx context.Context, fs *pflag.FlagSet) error {
	// --log-format picks zap's encoder unless --zap-encoder is set.
	if fs.Lookup("log-format").Changed && !fs.Lookup("zap-encoder").Changed {
		if err := fs.Set("zap-encoder", map[string]string{"text": "console", "json": "json"}[m.logFormat]); err != nil {
			return err
		}
	}
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&m.zapOpts)))
	log := ctrl.Log.WithName("setup")

	scheme := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(v1alpha1.AddToScheme(scheme))

	var tlsOpts []func(*tls.Config)
	if !m.EnableHTTP2 {
		tlsOpts = append(tlsOpts, func(c *tls.Config) { c.NextProtos = []string{"http/1.1"} })
	}
	metricsOpts := metricsserver.Options{BindAddress: m.MetricsBindAddress, SecureServing: m.MetricsSecure, TLSOpts: tlsOpts}
	if m.MetricsSecure {
		metricsOpts.FilterProvider = filters.WithAuthenticationAndAuthorization
	}

	restConfig, err := ctrl.GetConfig()
	if err != nil {
		return problem.Usage(fmt.Errorf("the API server's config: %w", err))
	}
	mgr, err := ctrl.NewManager(restConfig, ctrl.Options{
		Scheme:                        scheme,
		Metrics:                       metricsOpts,
		HealthProbeBindAddress:        m.HealthProbeBindAddress,
		LeaderElection:                m.LeaderElect,
		LeaderElectionID:              "manager.parquetrail.io",
		LeaderElectionNamespace:       m.LeaderElectionNamespace,
		LeaderElectionReleaseOnCancel: true,
		Cache:                         controllers.CacheOptions(),
		Client:                        controllers.ClientOptions(),
	})
	if err != nil {
		return fmt.Errorf("creating the manager: %w", err)
	}

	r := &controllers.Reconciler{
		Client:    mgr.GetClient(),
		APIReader: mgr.GetAPIReader(),
		Recorder:  mgr.GetEventRecorder("parquetrail"),
		Clock:     clock.RealClock{},
		OpenStore: store.Open,
		Metrics:   controllers.NewMetrics(metrics.Registry),
		Config:    m.Controller,
	}
	if err := r.SetupWithManager(ctx, mgr, m.MaxConcurrentReconciles); err != nil {
		return fmt.Errorf("setting up the controller: %w", err)
	}
	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		return err
	}
	if err := mgr.AddReadyzCheck("readyz", healthz.Ping); err != nil {
		return err
	}
	log.Info("Starting the manager", "version", cli.Version(version), "workerImage", m.Controller.WorkerImage, "planTimeout", m.Controller.PlanTimeout.String(),
		"maxConcurrentDays", m.Controller.MaxConcurrentDays, "secretNamespaces", m.Controller.SecretNamespaces)
	return mgr.Start(ctx)
}

// imageTag is the worker image tag that matches this manager's version.
func imageTag() string {
	if version == "" || version == "dev" {
		return "latest"
	}
	return version
}
