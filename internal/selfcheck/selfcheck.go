// Package selfcheck is "manager self-check", the command the Helm chart's
// test Pod runs (helm test): from inside the cluster, as the manager's
// service account, it checks that the CloudTrailDay CRD is served, that a
// manager leads (its leader-election Lease is held and renewed), and that
// the service account may do what the manager needs, as "kubectl auth
// can-i" would (SelfSubjectAccessReviews). It needs no RBAC of its own
// beyond the manager's.
package selfcheck

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// Access is one "kubectl auth can-i" question.
type Access struct {
	Verb, Group, Resource, Subresource, Namespace string
}

func (a Access) String() string {
	r := a.Resource
	if a.Group != "" {
		r += "." + a.Group
	}
	if a.Subresource != "" {
		r += "/" + a.Subresource
	}
	if a.Namespace != "" {
		return fmt.Sprintf("%s %s in namespace %s", a.Verb, r, a.Namespace)
	}
	return fmt.Sprintf("%s %s in every namespace", a.Verb, r)
}

// ParseAccess reads "VERB[,VERB...]:RESOURCE[.GROUP][/SUBRESOURCE][@NAMESPACE]",
// kubectl's spelling of a resource (jobs.batch, secrets,
// cloudtraildays.parquetrail.io/status); without @NAMESPACE the question is
// about every namespace.
func ParseAccess(s string) ([]Access, error) {
	verbs, rest, ok := strings.Cut(s, ":")
	if !ok || verbs == "" || rest == "" {
		return nil, fmt.Errorf("access %q: want VERBS:RESOURCE[.GROUP][/SUBRESOURCE][@NAMESPACE]", s)
	}
	rest, ns, _ := strings.Cut(rest, "@")
	rest, sub, _ := strings.Cut(rest, "/")
	res, group, _ := strings.Cut(rest, ".")
	if res == "" {
		return nil, fmt.Errorf("access %q: no resource", s)
	}
	var out []Access
	for _, v := range strings.Split(verbs, ",") {
		if v == "" {
			return nil, fmt.Errorf("access %q: an empty verb", s)
		}
		out = append(out, Access{Verb: v, Group: group, Resource: res, Subresource: sub, Namespace: ns})
	}
	return out, nil
}

// Options say what to check.
type Options struct {
	// CRD is the CRD's name, PLURAL.GROUP (cloudtraildays.parquetrail.io).
	CRD string
	// LeaseNamespace and LeaseName name the manager's leader-election
	// Lease; empty: the manager's readiness is not checked.
	LeaseNamespace, LeaseName string
	// Access lists what the service account must be allowed.
	Access []Access
	// Now is the clock (tests move it).
	Now func() time.Time
}

// Check runs every check once and returns a line per check that passed
// and an error per check that failed, each naming its object.
func Check(ctx context.Context, cfg *rest.Config, o Options) (passed []string, failed []error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, []error{err}
	}
	if o.CRD != "" {
		if line, err := checkCRD(ctx, cfg, cs.Discovery(), o.CRD); err != nil {
			failed = append(failed, err)
		} else {
			passed = append(passed, line)
		}
	}
	if o.LeaseName != "" {
		if line, err := checkLease(ctx, cs, o); err != nil {
			failed = append(failed, err)
		} else {
			passed = append(passed, line)
		}
	}
	for _, a := range o.Access {
		ssar := &authorizationv1.SelfSubjectAccessReview{Spec: authorizationv1.SelfSubjectAccessReviewSpec{
			ResourceAttributes: &authorizationv1.ResourceAttributes{Verb: a.Verb, Group: a.Group,
				Resource: a.Resource, Subresource: a.Subresource, Namespace: a.Namespace}}}
		got, err := cs.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx, ssar, metav1.CreateOptions{})
		switch {
		case err != nil:
			failed = append(failed, fmt.Errorf("rbac: can-i %s: %w", a, err))
		case !got.Status.Allowed:
			failed = append(failed, fmt.Errorf("rbac: may not %s %s", a, got.Status.Reason))
		default:
			passed = append(passed, "rbac: may "+a.String())
		}
	}
	return passed, failed
}

// checkCRD finds the resource in discovery (the CRD is established and
// served) and lists it (the manager may read it).
func checkCRD(ctx context.Context, cfg *rest.Config, disc discovery.DiscoveryInterface, name string) (string, error) {
	plural, group, ok := strings.Cut(name, ".")
	if !ok {
		return "", fmt.Errorf("crd %s: want PLURAL.GROUP", name)
	}
	groups, err := disc.ServerGroups()
	if err != nil {
		return "", fmt.Errorf("crd %s: discovery: %w", name, err)
	}
	version := ""
	for _, g := range groups.Groups {
		if g.Name == group {
			version = g.PreferredVersion.Version
		}
	}
	if version == "" {
		return "", fmt.Errorf("crd %s: the API server serves no group %s: is the CRD installed (crds.install)?", name, group)
	}
	resources, err := disc.ServerResourcesForGroupVersion(group + "/" + version)
	if err != nil {
		return "", fmt.Errorf("crd %s: discovery of %s/%s: %w", name, group, version, err)
	}
	found := false
	for _, r := range resources.APIResources {
		found = found || r.Name == plural
	}
	if !found {
		return "", fmt.Errorf("crd %s: %s/%s serves no resource %s", name, group, version, plural)
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return "", err
	}
	gvr := schema.GroupVersionResource{Group: group, Version: version, Resource: plural}
	list, err := dyn.Resource(gvr).List(ctx, metav1.ListOptions{Limit: 1})
	if err != nil {
		return "", fmt.Errorf("crd %s: list %s: %w", name, gvr, err)
	}
	return fmt.Sprintf("crd: %s served as %s/%s (listed %d)", name, group, version, len(list.Items)), nil
}

// checkLease reads the manager's leader-election Lease: a manager leads
// when it holds the Lease and renewed it within its duration. The leader
// is the one that reconciles, so this is the readiness that matters.
func checkLease(ctx context.Context, cs kubernetes.Interface, o Options) (string, error) {
	key := o.LeaseNamespace + "/" + o.LeaseName
	l, err := cs.CoordinationV1().Leases(o.LeaseNamespace).Get(ctx, o.LeaseName, metav1.GetOptions{})
	if err != nil {
		return "", fmt.Errorf("manager: lease %s: %w", key, err)
	}
	holder := ""
	if l.Spec.HolderIdentity != nil {
		holder = *l.Spec.HolderIdentity
	}
	if holder == "" {
		return "", fmt.Errorf("manager: lease %s has no holder: no manager leads", key)
	}
	if l.Spec.RenewTime == nil || l.Spec.LeaseDurationSeconds == nil {
		return "", fmt.Errorf("manager: lease %s held by %s was never renewed", key, holder)
	}
	age := o.Now().Sub(l.Spec.RenewTime.Time)
	if d := time.Duration(*l.Spec.LeaseDurationSeconds) * time.Second; age > d {
		return "", fmt.Errorf("manager: lease %s held by %s was last renewed %s ago, more than its %s", key, holder, age.Round(time.Second), d)
	}
	return fmt.Sprintf("manager: %s leads (lease %s renewed %s ago)", holder, key, age.Round(time.Second)), nil
}

// accessFlags collects repeated --can flags.
type accessFlags []Access

func (f *accessFlags) String() string { return fmt.Sprint(*f) }
func (f *accessFlags) Set(s string) error {
	a, err := ParseAccess(s)
	*f = append(*f, a...)
	return err
}

// Main is "manager self-check ARGS": it repeats the checks until all pass
// or --timeout ends, prints each result, and returns the exit code: 0 all
// passed, 1 a check failed (a retry may fix it), 2 a usage error.
// getConfig gives the API server's config when --kubeconfig is not set
// (in a pod: the service account's).
func Main(ctx context.Context, args []string, out io.Writer, getConfig func() (*rest.Config, error)) int {
	fs := flag.NewFlagSet("self-check", flag.ContinueOnError)
	fs.SetOutput(out)
	var o Options
	var access accessFlags
	var lease, kubeconfig string
	timeout := fs.Duration("timeout", 2*time.Minute, "how long to retry until every check passes")
	interval := fs.Duration("interval", 2*time.Second, "pause between attempts")
	fs.StringVar(&o.CRD, "crd", "cloudtraildays.parquetrail.io", "the CRD that must be served, PLURAL.GROUP")
	fs.StringVar(&lease, "lease", "", "NAMESPACE/NAME of the manager's leader-election Lease that must be held")
	fs.Var(&access, "can", "VERBS:RESOURCE[.GROUP][/SUBRESOURCE][@NAMESPACE] the service account must be allowed (repeatable)")
	fs.StringVar(&kubeconfig, "kubeconfig", "", "a kubeconfig file; default: in-cluster")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(out, "self-check: unexpected arguments %q\n", fs.Args())
		return 2
	}
	if lease != "" {
		ns, name, ok := strings.Cut(lease, "/")
		if !ok || ns == "" || name == "" {
			fmt.Fprintf(out, "self-check: --lease %q: want NAMESPACE/NAME\n", lease)
			return 2
		}
		o.LeaseNamespace, o.LeaseName = ns, name
	}
	o.Access = access
	var cfg *rest.Config
	var err error
	if kubeconfig != "" {
		cfg, err = clientcmd.BuildConfigFromFlags("", kubeconfig)
	} else {
		cfg, err = getConfig()
	}
	if err != nil {
		fmt.Fprintf(out, "self-check: API server config: %v\n", err)
		return 2
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	passed, failed := Check(ctx, cfg, o)
	for len(failed) > 0 {
		select {
		case <-ctx.Done():
		case <-time.After(*interval):
			passed, failed = Check(ctx, cfg, o)
			continue
		}
		break
	}
	for _, p := range passed {
		fmt.Fprintln(out, "ok  ", p)
	}
	for _, f := range failed {
		fmt.Fprintln(out, "FAIL", f)
	}
	if len(failed) > 0 {
		fmt.Fprintf(out, "self-check: %d of %d checks failed (retried for %s)\n", len(failed), len(passed)+len(failed), *timeout)
		return 1
	}
	fmt.Fprintf(out, "self-check: all %d checks passed\n", len(passed))
	return 0
}
