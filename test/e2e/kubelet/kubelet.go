// Package kubelet plays the kubelet for end-to-end tests on a control plane
// without nodes: it watches the pods it is meant to run, starts each
// container's command as a local process of a locally built binary with the
// pod's environment, and writes the pod's status (phase, container exit
// codes) back, so that the real Job controller sees pods succeed, fail and
// be retried exactly as on a cluster.
package kubelet

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sync"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Kubelet runs pods as local processes.
type Kubelet struct {
	Client client.Client
	// Namespaces limits the pods it runs; empty means every namespace.
	Namespaces []string
	// Binaries maps a container's command[0] (an image path such as
	// "/shard-worker", or its base name) to a local executable.
	Binaries map[string]string
	// Env is added to every process before the pod's own environment
	// (PATH, HOME, TMPDIR, ...).
	Env []string
	// PodEnv, when set, gives a pod's processes more environment, after Env
	// and before the pod's own: what the kubelet would mount, such as the
	// pod's service account identity.
	PodEnv func(ctx context.Context, pod *corev1.Pod) ([]string, error)
	// LogDir receives one log file per container run; "" discards output.
	LogDir string
	// Fault, when set, is asked once per pod; a positive duration kills the
	// pod's processes with SIGKILL after that long (exit code 137).
	Fault func(pod *corev1.Pod) time.Duration
	// Gate, when set, is called before a pod's processes start and may
	// block (as an image pull does): the pod stays Pending until it
	// returns. An error fails the pod's start.
	Gate func(ctx context.Context, pod *corev1.Pod) error
	// Poll is how often pods are listed; default 100ms.
	Poll time.Duration

	mu      sync.Mutex
	running map[types.UID]*run
	started []string
}

type run struct {
	ctx    context.Context // ends when the pod is deleted or the kubelet stops
	cancel context.CancelFunc
	killed bool
	cmds   []*exec.Cmd // set once the processes started
}

// Started returns the names of the pods started so far, in order.
func (k *Kubelet) Started() []string {
	k.mu.Lock()
	defer k.mu.Unlock()
	return append([]string(nil), k.started...)
}

// Run starts pods until ctx ends, then kills what is still running.
func (k *Kubelet) Run(ctx context.Context) error {
	if k.Poll == 0 {
		k.Poll = 100 * time.Millisecond
	}
	k.mu.Lock()
	if k.running == nil {
		k.running = map[types.UID]*run{}
	}
	k.mu.Unlock()
	var wg sync.WaitGroup
	defer wg.Wait()
	t := time.NewTicker(k.Poll)
	defer t.Stop()
	for {
		pods, err := k.pending(ctx)
		if err == nil {
			for i := range pods {
				pod := pods[i]
				k.mu.Lock()
				_, seen := k.running[pod.UID]
				if !seen {
					rctx, cancel := context.WithCancel(ctx)
					k.running[pod.UID] = &run{ctx: rctx, cancel: cancel}
					k.started = append(k.started, pod.Namespace+"/"+pod.Name)
				}
				r := k.running[pod.UID]
				k.mu.Unlock()
				if seen {
					continue
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					k.runPod(r.ctx, r, &pod)
				}()
			}
			k.reapDeleted(ctx)
		}
		select {
		case <-ctx.Done():
			k.mu.Lock()
			for _, r := range k.running {
				r.cancel()
			}
			k.mu.Unlock()
			return nil
		case <-t.C:
		}
	}
}

func (k *Kubelet) list(ctx context.Context) ([]corev1.Pod, error) {
	namespaces := k.Namespaces
	if len(namespaces) == 0 {
		namespaces = []string{""}
	}
	var out []corev1.Pod
	for _, ns := range namespaces {
		var pods corev1.PodList
		if err := k.Client.List(ctx, &pods, client.InNamespace(ns)); err != nil {
			return nil, err
		}
		out = append(out, pods.Items...)
	}
	return out, nil
}

func (k *Kubelet) pending(ctx context.Context) ([]corev1.Pod, error) {
	all, err := k.list(ctx)
	if err != nil {
		return nil, err
	}
	var out []corev1.Pod
	for _, p := range all {
		if p.DeletionTimestamp == nil && (p.Status.Phase == "" || p.Status.Phase == corev1.PodPending) {
			out = append(out, p)
		}
	}
	return out, nil
}

// reapDeleted stops the processes of pods that no longer exist (the Job
// controller deletes pods it no longer wants).
func (k *Kubelet) reapDeleted(ctx context.Context) {
	all, err := k.list(ctx)
	if err != nil {
		return
	}
	live := map[types.UID]bool{}
	for _, p := range all {
		if p.DeletionTimestamp == nil {
			live[p.UID] = true
		}
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	for uid, r := range k.running {
		if !live[uid] {
			r.cancel()
		}
	}
}

func (k *Kubelet) runPod(ctx context.Context, r *run, pod *corev1.Pod) {
	started := metav1.Now()
	statuses := make([]corev1.ContainerStatus, len(pod.Spec.Containers))
	cmds := make([]*exec.Cmd, len(pod.Spec.Containers))
	var startErr error
	if k.Gate != nil {
		if err := k.Gate(ctx, pod); err != nil {
			startErr = fmt.Errorf("gate: %w", err)
		}
	}
	for i, c := range pod.Spec.Containers {
		if startErr != nil {
			break
		}
		statuses[i] = corev1.ContainerStatus{Name: c.Name, Image: c.Image, ImageID: c.Image, ContainerID: "process://" + string(pod.UID) + "/" + c.Name}
		cmd, err := k.command(ctx, pod, &c)
		if err != nil {
			startErr = fmt.Errorf("container %s: %w", c.Name, err)
			break
		}
		cmds[i] = cmd
	}
	if startErr != nil {
		for i := range statuses {
			statuses[i].State = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
				ExitCode: 128, Reason: "StartError", Message: startErr.Error(), StartedAt: started, FinishedAt: metav1.Now()}}
		}
		k.setStatus(ctx, pod, corev1.PodFailed, started, statuses)
		return
	}
	for i, cmd := range cmds {
		if err := cmd.Start(); err != nil {
			statuses[i].State = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
				ExitCode: 128, Reason: "StartError", Message: err.Error(), StartedAt: started, FinishedAt: metav1.Now()}}
			continue
		}
		statuses[i].Started = ptr(true)
		statuses[i].Ready = true
		statuses[i].State = corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: started}}
	}
	k.mu.Lock()
	r.cmds = cmds
	k.mu.Unlock()
	k.setStatus(ctx, pod, corev1.PodRunning, started, statuses)

	if k.Fault != nil {
		if d := k.Fault(pod); d > 0 {
			time.AfterFunc(d, func() {
				k.mu.Lock()
				r.killed = true
				k.mu.Unlock()
				for _, cmd := range cmds {
					if cmd.Process != nil {
						_ = cmd.Process.Kill()
					}
				}
			})
		}
	}
	failed := false
	for i, cmd := range cmds {
		if statuses[i].State.Terminated != nil {
			failed = true
			continue
		}
		err := cmd.Wait()
		code := int32(0)
		reason := "Completed"
		if err != nil {
			var ee *exec.ExitError
			switch {
			case errors.As(err, &ee):
				code = int32(ee.ExitCode())
				if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
					code = 128 + int32(ws.Signal())
				}
			default:
				code = 128
			}
			reason = "Error"
			failed = true
		}
		statuses[i].Ready = false
		statuses[i].Started = ptr(false)
		statuses[i].State = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
			ExitCode: code, Reason: reason, StartedAt: started, FinishedAt: metav1.Now()}}
	}
	if ctx.Err() != nil {
		return
	}
	phase := corev1.PodSucceeded
	if failed {
		phase = corev1.PodFailed
	}
	k.setStatus(ctx, pod, phase, started, statuses)
}

func ptr[T any](v T) *T { return &v }

func (k *Kubelet) setStatus(ctx context.Context, pod *corev1.Pod, phase corev1.PodPhase, started metav1.Time, cs []corev1.ContainerStatus) {
	_ = retry.OnError(retry.DefaultBackoff, func(err error) bool { return apierrors.IsConflict(err) || apierrors.IsServerTimeout(err) }, func() error {
		var cur corev1.Pod
		if err := k.Client.Get(ctx, client.ObjectKeyFromObject(pod), &cur); err != nil {
			return err
		}
		if cur.UID != pod.UID {
			return nil
		}
		cur.Status.Phase = phase
		cur.Status.StartTime = &started
		cur.Status.ContainerStatuses = cs
		ready := corev1.ConditionFalse
		if phase == corev1.PodRunning {
			ready = corev1.ConditionTrue
		}
		now := metav1.Now()
		cur.Status.Conditions = []corev1.PodCondition{
			{Type: corev1.PodScheduled, Status: corev1.ConditionTrue, LastTransitionTime: started},
			{Type: corev1.PodInitialized, Status: corev1.ConditionTrue, LastTransitionTime: started},
			{Type: corev1.ContainersReady, Status: ready, LastTransitionTime: now},
			{Type: corev1.PodReady, Status: ready, LastTransitionTime: now},
		}
		return k.Client.Status().Update(ctx, &cur)
	})
}

func (k *Kubelet) command(ctx context.Context, pod *corev1.Pod, c *corev1.Container) (*exec.Cmd, error) {
	argv := append(append([]string(nil), c.Command...), c.Args...)
	if len(argv) == 0 {
		return nil, errors.New("no command: the process kubelet runs only containers with an explicit command")
	}
	bin, ok := k.Binaries[argv[0]]
	if !ok {
		bin, ok = k.Binaries[filepath.Base(argv[0])]
	}
	if !ok {
		return nil, fmt.Errorf("no local binary for %q", argv[0])
	}
	env, err := k.environment(ctx, pod, c)
	if err != nil {
		return nil, err
	}
	for i := 1; i < len(argv); i++ {
		argv[i] = expand(argv[i], env)
	}
	// A container's host name is its pod's name; these processes share the
	// machine's, so the pod's name is also passed as POD_NAME, which the
	// worker prefers for naming itself (as the holder of a day's lease).
	base := append(append([]string(nil), k.Env...), "HOSTNAME="+pod.Name, "POD_NAME="+pod.Name)
	if k.PodEnv != nil {
		more, err := k.PodEnv(ctx, pod)
		if err != nil {
			return nil, err
		}
		base = append(base, more...)
	}
	cmd := exec.CommandContext(ctx, bin, argv[1:]...)
	cmd.Env = append(base, envList(env)...)
	cmd.WaitDelay = 5 * time.Second
	if c.WorkingDir != "" {
		cmd.Dir = c.WorkingDir
	}
	var out io.Writer = io.Discard
	if k.LogDir != "" {
		f, err := os.Create(filepath.Join(k.LogDir, fmt.Sprintf("%s_%s_%s_%s.log", pod.Namespace, pod.Name, c.Name, pod.UID[:8])))
		if err != nil {
			return nil, err
		}
		out = f
	}
	cmd.Stdout, cmd.Stderr = out, out
	return cmd, nil
}

type envVar struct{ name, value string }

func envList(env []envVar) []string {
	out := make([]string, len(env))
	for i, e := range env {
		out[i] = e.name + "=" + e.value
	}
	return out
}

var varRef = regexp.MustCompile(`\$\(([A-Za-z_][A-Za-z0-9_]*)\)`)

// expand resolves $(VAR) references in arguments as the kubelet does.
func expand(s string, env []envVar) string {
	return varRef.ReplaceAllStringFunc(s, func(m string) string {
		name := m[2 : len(m)-1]
		for i := len(env) - 1; i >= 0; i-- {
			if env[i].name == name {
				return env[i].value
			}
		}
		return m
	})
}

// environment resolves the container's env and envFrom as the kubelet does:
// literal values, field references, Secrets and ConfigMaps.
func (k *Kubelet) environment(ctx context.Context, pod *corev1.Pod, c *corev1.Container) ([]envVar, error) {
	var env []envVar
	for _, from := range c.EnvFrom {
		data := map[string]string{}
		switch {
		case from.SecretRef != nil:
			var s corev1.Secret
			if err := k.Client.Get(ctx, client.ObjectKey{Namespace: pod.Namespace, Name: from.SecretRef.Name}, &s); err != nil {
				if from.SecretRef.Optional != nil && *from.SecretRef.Optional {
					continue
				}
				return nil, fmt.Errorf("secret %s: %w", from.SecretRef.Name, err)
			}
			for key, v := range s.Data {
				data[key] = string(v)
			}
		case from.ConfigMapRef != nil:
			var cm corev1.ConfigMap
			if err := k.Client.Get(ctx, client.ObjectKey{Namespace: pod.Namespace, Name: from.ConfigMapRef.Name}, &cm); err != nil {
				if from.ConfigMapRef.Optional != nil && *from.ConfigMapRef.Optional {
					continue
				}
				return nil, fmt.Errorf("configmap %s: %w", from.ConfigMapRef.Name, err)
			}
			for key, v := range cm.Data {
				data[key] = v
			}
		}
		for key, v := range data {
			env = append(env, envVar{from.Prefix + key, v})
		}
	}
	for _, e := range c.Env {
		if e.ValueFrom == nil {
			env = append(env, envVar{e.Name, expand(e.Value, env)})
			continue
		}
		v, ok, err := k.valueFrom(ctx, pod, e.ValueFrom)
		if err != nil {
			return nil, fmt.Errorf("env %s: %w", e.Name, err)
		}
		if ok {
			env = append(env, envVar{e.Name, v})
		}
	}
	return env, nil
}

// valueFrom resolves one env source; ok is false for an optional Secret or
// ConfigMap key that is not there (the variable is then left unset).
func (k *Kubelet) valueFrom(ctx context.Context, pod *corev1.Pod, src *corev1.EnvVarSource) (string, bool, error) {
	switch {
	case src.FieldRef != nil:
		v, err := fieldValue(pod, src.FieldRef.FieldPath)
		return v, err == nil, err
	case src.SecretKeyRef != nil:
		ref := src.SecretKeyRef
		optional := ref.Optional != nil && *ref.Optional
		var s corev1.Secret
		if err := k.Client.Get(ctx, client.ObjectKey{Namespace: pod.Namespace, Name: ref.Name}, &s); err != nil {
			if optional && apierrors.IsNotFound(err) {
				return "", false, nil
			}
			return "", false, err
		}
		v, ok := s.Data[ref.Key]
		if !ok {
			if optional {
				return "", false, nil
			}
			return "", false, fmt.Errorf("secret %s has no key %s", ref.Name, ref.Key)
		}
		return string(v), true, nil
	case src.ConfigMapKeyRef != nil:
		ref := src.ConfigMapKeyRef
		optional := ref.Optional != nil && *ref.Optional
		var cm corev1.ConfigMap
		if err := k.Client.Get(ctx, client.ObjectKey{Namespace: pod.Namespace, Name: ref.Name}, &cm); err != nil {
			if optional && apierrors.IsNotFound(err) {
				return "", false, nil
			}
			return "", false, err
		}
		v, ok := cm.Data[ref.Key]
		if !ok && !optional {
			return "", false, fmt.Errorf("configmap %s has no key %s", ref.Name, ref.Key)
		}
		return v, ok, nil
	}
	return "", false, errors.New("unsupported valueFrom")
}

var mapRef = regexp.MustCompile(`^metadata\.(annotations|labels)\['(.+)'\]$`)

func fieldValue(pod *corev1.Pod, path string) (string, error) {
	switch path {
	case "metadata.name":
		return pod.Name, nil
	case "metadata.namespace":
		return pod.Namespace, nil
	case "metadata.uid":
		return string(pod.UID), nil
	case "spec.serviceAccountName":
		return pod.Spec.ServiceAccountName, nil
	case "spec.nodeName":
		return pod.Spec.NodeName, nil
	case "status.podIP", "status.hostIP":
		return "127.0.0.1", nil
	}
	if m := mapRef.FindStringSubmatch(path); m != nil {
		if m[1] == "annotations" {
			return pod.Annotations[m[2]], nil
		}
		return pod.Labels[m[2]], nil
	}
	return "", fmt.Errorf("unsupported field path %q", path)
}

// Kill kills the processes of a running pod with SIGKILL, as a node that
// dies or an OOM kill would (exit code 137); it reports whether the pod's
// processes were running here.
func (k *Kubelet) Kill(uid types.UID) bool {
	k.mu.Lock()
	r, ok := k.running[uid]
	if ok && r.cmds != nil {
		r.killed = true
	}
	var cmds []*exec.Cmd
	if ok {
		cmds = r.cmds
	}
	k.mu.Unlock()
	killed := false
	for _, cmd := range cmds {
		if cmd != nil && cmd.Process != nil && cmd.Process.Kill() == nil {
			killed = true
		}
	}
	return killed
}

// Killed reports whether the kubelet killed the given pod through Fault or Kill.
func (k *Kubelet) Killed(uid types.UID) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	r, ok := k.running[uid]
	return ok && r.killed
}
