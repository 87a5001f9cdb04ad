// Package integration tests the API and the controller against a real
// kube-apiserver and etcd (envtest) and a real S3-protocol server on
// loopback. No Job controller runs: the tests move Job status the way it
// would (internal/controllertest).
//
// The control plane comes from hack/controlplane.sh; KUBEBUILDER_ASSETS
// points at it, or, when unset, the script's cache is used if it is complete.
// Without either the tests are skipped.
package integration

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
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	clocktesting "k8s.io/utils/clock/testing"
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
)

var (
	// k8s is a client that reads the API server directly (no cache).
	k8s    client.Client
	cfg    *rest.Config
	scheme = runtime.NewScheme()
	// clock is the manager's clock; tests move it.
	clock = clocktesting.NewFakeClock(time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC))
	// reconciler is the manager's reconciler, for its metrics.
	reconciler *controllers.Reconciler
	// testEnv is the API server and etcd.
	testEnv *envtest.Environment
	// skip says why the suite cannot run, if it cannot.
	skip string
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	ctrl.SetLogger(zap.New(zap.UseDevMode(true), zap.WriteTo(logWriter())))
	assets, why := controlPlane()
	if assets == "" {
		skip = why
		return m.Run()
	}
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		panic(err)
	}
	if err := v1alpha1.AddToScheme(scheme); err != nil {
		panic(err)
	}
	testEnv = &envtest.Environment{
		CRDDirectoryPaths:     []string{filepath.Join("..", "..", "config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
		BinaryAssetsDirectory: assets,
	}
	var err error
	if cfg, err = testEnv.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "integration: starting envtest:", err)
		return 1
	}
	defer testEnv.Stop()
	if k8s, err = client.New(cfg, client.Options{Scheme: scheme}); err != nil {
		fmt.Fprintln(os.Stderr, "integration:", err)
		return 1
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done, err := startManager(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "integration: starting the manager:", err)
		return 1
	}
	code := m.Run()
	cancel()
	<-done
	return code
}

// startManager runs the manager as cmd/manager sets it up, with the fake
// clock.
func startManager(ctx context.Context) (<-chan struct{}, error) {
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                 scheme,
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		Controller:             config.Controller{SkipNameValidation: ptr.To(true)},
		Cache:                  controllers.CacheOptions(),
		Client:                 controllers.ClientOptions(),
	})
	if err != nil {
		return nil, err
	}
	reconciler = &controllers.Reconciler{
		Client:    mgr.GetClient(),
		APIReader: mgr.GetAPIReader(),
		Recorder:  mgr.GetEventRecorder("parquetrail"),
		Clock:     clock,
		OpenStore: store.Open,
		Metrics:   controllers.NewMetrics(prometheus.NewRegistry()),
		Config:    controllers.DefaultConfig(),
	}
	reconciler.Config.WorkerImage = "example.test/shard-worker:integration"
	// Each test makes a namespace of its own for its days and Secret.
	reconciler.Config.SecretNamespaces = []string{"*"}
	// TestQueue checks the bound; the other tests run one day at a time and
	// delete it when they end.
	reconciler.Config.MaxConcurrentDays = 3
	if err := reconciler.SetupWithManager(ctx, mgr, 2); err != nil {
		return nil, err
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := mgr.Start(ctx); err != nil {
			fmt.Fprintln(os.Stderr, "integration: manager:", err)
		}
	}()
	return done, nil
}

// controlPlane finds the kube-apiserver and etcd binaries.
func controlPlane() (dir, why string) {
	if dir := os.Getenv("KUBEBUILDER_ASSETS"); dir != "" {
		return dir, ""
	}
	script := filepath.Join("..", "..", "hack", "controlplane.sh")
	if err := exec.Command(script, "--check").Run(); err != nil {
		return "", "no control plane: set KUBEBUILDER_ASSETS=$(hack/controlplane.sh), or run that script once to build and cache it"
	}
	out, err := exec.Command(script, "--print-dir").Output()
	if err != nil {
		return "", fmt.Sprintf("hack/controlplane.sh --print-dir: %v", err)
	}
	return strings.TrimSpace(string(out)), ""
}

// logWriter sends the manager's log to a file when PARQUETRAIL_TEST_LOG
// names one; else it is dropped, so that test output stays readable.
func logWriter() *syncWriter {
	if p := os.Getenv("PARQUETRAIL_TEST_LOG"); p != "" {
		if f, err := os.Create(p); err == nil {
			return &syncWriter{w: f}
		}
	}
	return &syncWriter{}
}

type syncWriter struct {
	mu sync.Mutex
	w  *os.File
}

func (s *syncWriter) Write(b []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.w == nil {
		return len(b), nil
	}
	return s.w.Write(b)
}

// setup skips a test without a control plane and gives it a namespace of
// its own.
func setup(t *testing.T) (context.Context, string) {
	t.Helper()
	if skip != "" {
		if os.Getenv("PARQUETRAIL_REQUIRE_ALL") != "" {
			t.Fatal(skip) // make test and CI build the control plane first
		}
		t.Skip(skip)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	ns := &corev1.Namespace{}
	ns.GenerateName = "it-"
	ns.Labels = map[string]string{"pod-security.kubernetes.io/enforce": "restricted"}
	if err := k8s.Create(ctx, ns); err != nil {
		t.Fatal(err)
	}
	return ctx, ns.Name
}

// eventually polls cond until it returns nil, or fails the test with its
// last error.
func eventually(t *testing.T, what string, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	var err error
	for time.Now().Before(deadline) {
		if err = cond(); err == nil {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s: %v", what, err)
}
