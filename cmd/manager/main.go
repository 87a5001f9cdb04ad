// Command manager runs the parquetrail operator: the CloudTrailDay
// controller, with its metrics and health endpoints. "manager create-day"
// makes the CloudTrailDay of yesterday from a template, for a daily CronJob;
// "manager create-days --from DATE --to DATE" makes a range of them from
// the same template, for a backfill.
package main

import (
	"crypto/tls"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

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
	"github.com/parquetrail/parquetrail/internal/selfcheck"
	"github.com/parquetrail/parquetrail/internal/store"
)

// version is set at build time (-ldflags "-X main.version=...").
var version = "dev"

func main() {
	if len(os.Args) > 1 && os.Args[1] == "create-day" {
		if err := createDay(ctrl.SetupSignalHandler(), os.Args[2:], time.Now()); err != nil {
			fmt.Fprintln(os.Stderr, "manager create-day:", err)
			os.Exit(1)
		}
		return
	}
	if len(os.Args) > 1 && os.Args[1] == "self-check" {
		// The chart's helm test: the CRD is served, a manager leads, and
		// the service account may do what the manager does.
		os.Exit(selfcheck.Main(ctrl.SetupSignalHandler(), os.Args[2:], os.Stdout, ctrl.GetConfig))
	}
	if len(os.Args) > 1 && os.Args[1] == "create-days" {
		err := createDays(ctrl.SetupSignalHandler(), os.Args[2:], os.Stdout)
		var usage usageError
		switch {
		case errors.Is(err, flag.ErrHelp):
			return
		case errors.As(err, &usage):
			fmt.Fprintln(os.Stderr, "manager create-days:", err)
			os.Exit(2)
		case err != nil:
			fmt.Fprintln(os.Stderr, "manager create-days:", err)
			os.Exit(1)
		}
		return
	}
	// flag.CommandLine also carries controller-runtime's --kubeconfig.
	if err := run(flag.CommandLine, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "manager:", err)
		os.Exit(1)
	}
}

func run(fs *flag.FlagSet, args []string) error {
	var (
		metricsAddr   = fs.String("metrics-bind-address", ":8443", "address the metrics endpoint binds to; 0 disables it")
		metricsSecure = fs.Bool("metrics-secure", true, "serve metrics over HTTPS, to clients the API server authenticates and authorizes")
		probeAddr     = fs.String("health-probe-bind-address", ":8081", "address the health and readiness probes bind to")
		leaderElect   = fs.Bool("leader-elect", false, "elect a leader, so that only one replica reconciles")
		leaderElectNS = fs.String("leader-election-namespace", "", "namespace of the leader election lease (default: the pod's)")
		concurrency   = fs.Int("max-concurrent-reconciles", 4, "CloudTrailDays reconciled at once (planning lists S3 in the reconcile)")
		enableHTTP2   = fs.Bool("enable-http2", false, "serve metrics over HTTP/2 too (off: HTTP/2 rapid-reset mitigations)")
		cfg           = controllers.DefaultConfig()
		defaultImage  = "ghcr.io/parquetrail/shard-worker:" + imageTag()
		showVersion   = fs.Bool("version", false, "print the version and exit")
		zapOpts       = zap.Options{}
	)
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
	zapOpts.BindFlags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *showVersion {
		fmt.Println(version)
		return nil
	}
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&zapOpts)))
	log := ctrl.Log.WithName("setup")

	scheme := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(v1alpha1.AddToScheme(scheme))

	var tlsOpts []func(*tls.Config)
	if !*enableHTTP2 {
		tlsOpts = append(tlsOpts, func(c *tls.Config) { c.NextProtos = []string{"http/1.1"} })
	}
	metricsOpts := metricsserver.Options{BindAddress: *metricsAddr, SecureServing: *metricsSecure, TLSOpts: tlsOpts}
	if *metricsSecure {
		metricsOpts.FilterProvider = filters.WithAuthenticationAndAuthorization
	}

	mgr, err := ctrl.NewManager(ctrl.GetConfigOrDie(), ctrl.Options{
		Scheme:                        scheme,
		Metrics:                       metricsOpts,
		HealthProbeBindAddress:        *probeAddr,
		LeaderElection:                *leaderElect,
		LeaderElectionID:              "manager.parquetrail.io",
		LeaderElectionNamespace:       *leaderElectNS,
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
		Config:    cfg,
	}
	ctx := ctrl.SetupSignalHandler()
	if err := r.SetupWithManager(ctx, mgr, *concurrency); err != nil {
		return fmt.Errorf("setting up the controller: %w", err)
	}
	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		return err
	}
	if err := mgr.AddReadyzCheck("readyz", healthz.Ping); err != nil {
		return err
	}
	log.Info("Starting the manager", "version", version, "workerImage", cfg.WorkerImage, "planTimeout", cfg.PlanTimeout.String(),
		"maxConcurrentDays", cfg.MaxConcurrentDays, "secretNamespaces", cfg.SecretNamespaces)
	return mgr.Start(ctx)
}

// imageTag is the worker image tag that matches this manager's version.
func imageTag() string {
	if version == "" || version == "dev" {
		return "latest"
	}
	return version
}
