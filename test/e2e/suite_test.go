// Package e2e runs whole days through the operator on a real control plane:
// kube-apiserver and etcd (envtest), the real kube-controller-manager (Job,
// CronJob and garbage-collector controllers), the manager, a process
// kubelet that runs the pods' containers as local processes of the built
// shard-worker, and an S3-protocol server on loopback.
package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/utils/clock"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/parquetrail/parquetrail/api/v1alpha1"
	"github.com/parquetrail/parquetrail/controllers"
	"github.com/parquetrail/parquetrail/internal/store"
	"github.com/parquetrail/parquetrail/test/e2e/kubelet"
)

var (
	k8s     client.Client
	cfg     *rest.Config
	scheme  = runtime.NewScheme()
	workDir string // binaries, logs
	worker  string // the built shard-worker
	manager string // the built manager (its create-day runs in CronJob pods)
	kube    *kubelet.Kubelet
	faults  = &faultTable{}

	mgrMu     sync.Mutex
	mgrCancel context.CancelFunc
	mgrDone   chan struct{}
)

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	assets, err := controlPlane()
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	if workDir, err = os.MkdirTemp("", "parquetrail-e2e-"); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	keep := os.Getenv("PARQUETRAIL_E2E_KEEP") != ""
	defer func() {
		if !keep {
			os.RemoveAll(workDir)
		}
	}()
	logs := filepath.Join(workDir, "logs")
	_ = os.MkdirAll(logs, 0o755)
	mlog, _ := os.Create(filepath.Join(logs, "manager.log"))
	ctrl.SetLogger(zap.New(zap.UseDevMode(true), zap.WriteTo(mlog)))

	worker = filepath.Join(workDir, "shard-worker")
	build := exec.Command("go", "build", "-o", worker, "../../shard-worker")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: building shard-worker:", err)
		return 1
	}
	manager = filepath.Join(workDir, "manager")
	build = exec.Command("go", "build", "-o", manager, "../../cmd/manager")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: building the manager:", err)
		return 1
	}

	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		panic(err)
	}
	if err := v1alpha1.AddToScheme(scheme); err != nil {
		panic(err)
	}
	env := &envtest.Environment{
		CRDDirectoryPaths:     []string{filepath.Join("..", "..", "config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
		BinaryAssetsDirectory: assets,
	}
	if cfg, err = env.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: starting envtest:", err)
		return 1
	}
	defer env.Stop()
	if k8s, err = client.New(cfg, client.Options{Scheme: scheme}); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	kcm, err := startControllerManager(ctx, env, assets, logs)
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e: kube-controller-manager:", err)
		return 1
	}
	defer func() { _ = kcm.Process.Kill(); _ = kcm.Wait() }()

	kube = &kubelet.Kubelet{
		Client:   k8s,
		Binaries: map[string]string{"/shard-worker": worker, "shard-worker": worker, "/manager": manager},
		Env:      []string{"PATH=" + os.Getenv("PATH"), "HOME=" + workDir, "TMPDIR=" + workDir},
		PodEnv:   hooks.env,
		Gate:     hooks.gate,
		LogDir:   logs,
		Fault:    faults.fault,
	}
	kdone := make(chan struct{})
	go func() { defer close(kdone); _ = kube.Run(ctx) }()
	defer func() { cancel(); <-kdone }()

	if err := startManager(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: manager:", err)
		return 1
	}
	defer stopManager()
	code := m.Run()
	if code != 0 {
		fmt.Fprintf(os.Stderr, "e2e: logs of the manager, controller manager and pods are in %s\n", logs)
		keep = true
	}
	return code
}

// controlPlane builds or finds kube-apiserver, etcd and
// kube-controller-manager (hack/controlplane.sh caches them by version).
func controlPlane() (string, error) {
	if dir := os.Getenv("KUBEBUILDER_ASSETS"); dir != "" {
		if _, err := os.Stat(filepath.Join(dir, "kube-controller-manager")); err != nil {
			return "", fmt.Errorf("KUBEBUILDER_ASSETS=%s has no kube-controller-manager (use hack/controlplane.sh)", dir)
		}
		return dir, nil
	}
	cmd := exec.Command(filepath.Join("..", "..", "hack", "controlplane.sh"))
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("hack/controlplane.sh: %w", err)
	}
	return strings.TrimSpace(string(out)), nil
}

// startControllerManager runs the real Job, CronJob and garbage-collector
// controllers against the envtest API server.
func startControllerManager(ctx context.Context, env *envtest.Environment, assets, logs string) (*exec.Cmd, error) {
	user, err := env.AddUser(envtest.User{Name: "kube-controller-manager", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		return nil, err
	}
	kc, err := user.KubeConfig()
	if err != nil {
		return nil, err
	}
	kubeconfig := filepath.Join(workDir, "kcm.kubeconfig")
	if err := os.WriteFile(kubeconfig, kc, 0o600); err != nil {
		return nil, err
	}
	log, err := os.Create(filepath.Join(logs, "kube-controller-manager.log"))
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, filepath.Join(assets, "kube-controller-manager"),
		"--kubeconfig="+kubeconfig,
		"--authentication-kubeconfig="+kubeconfig,
		"--authorization-kubeconfig="+kubeconfig,
		"--controllers=job,cronjob,garbagecollector",
		"--leader-elect=false",
		"--use-service-account-credentials=false",
		"--bind-address=127.0.0.1",
		"--secure-port=0",
		"--concurrent-job-syncs=4",
		"--v=2",
	)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	return cmd, nil
}

// startManager runs the operator's manager in this process, set up as
// cmd/manager sets it up; stopManager and startManager again restart it.
func startManager() error {
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                 scheme,
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		Controller:             config.Controller{SkipNameValidation: ptr.To(true)},
		Cache:                  controllers.CacheOptions(),
		Client:                 controllers.ClientOptions(),
	})
	if err != nil {
		return err
	}
	r := &controllers.Reconciler{
		Client:    mgr.GetClient(),
		APIReader: mgr.GetAPIReader(),
		Recorder:  mgr.GetEventRecorder("parquetrail"),
		Clock:     clock.RealClock{},
		OpenStore: store.Open,
		Metrics:   controllers.NewMetrics(prometheus.NewRegistry()),
		Config:    controllers.DefaultConfig(),
	}
	r.Config.WorkerImage = "ghcr.io/parquetrail/shard-worker:e2e"
	// Each test makes a namespace of its own for its days and Secret.
	r.Config.SecretNamespaces = []string{"*"}
	r.Config.LeaseTTL = leaseTTL
	ctx, cancel := context.WithCancel(context.Background())
	if err := r.SetupWithManager(ctx, mgr, 4); err != nil {
		cancel()
		return err
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := mgr.Start(ctx); err != nil {
			fmt.Fprintln(os.Stderr, "e2e: manager:", err)
		}
	}()
	mgrMu.Lock()
	mgrCancel, mgrDone = cancel, done
	mgrMu.Unlock()
	return nil
}

func stopManager() {
	mgrMu.Lock()
	cancel, done := mgrCancel, mgrDone
	mgrCancel, mgrDone = nil, nil
	mgrMu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
}

// faultTable kills chosen pods: the first pod of a given Job completion
// index in a given namespace, after a delay.
type faultTable struct {
	mu    sync.Mutex
	kills map[string]time.Duration // namespace/step/index -> delay
	done  map[string]bool
}

func (f *faultTable) killFirst(ns, step string, index int, after time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.kills == nil {
		f.kills, f.done = map[string]time.Duration{}, map[string]bool{}
	}
	f.kills[fmt.Sprintf("%s/%s/%d", ns, step, index)] = after
}

func (f *faultTable) fault(pod *corev1.Pod) time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	key := fmt.Sprintf("%s/%s/%s", pod.Namespace, pod.Labels[v1alpha1.StepLabel], pod.Annotations[batchv1.JobCompletionIndexAnnotation])
	d, ok := f.kills[key]
	if !ok || f.done[key] {
		return 0
	}
	f.done[key] = true
	return d
}
