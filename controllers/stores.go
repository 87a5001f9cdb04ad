package controllers

import (
	"context"
	"fmt"
	"path"
	"slices"
	"strings"

	"golang.org/x/sync/errgroup"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/parquetrail/parquetrail/api/v1alpha1"
	"github.com/parquetrail/parquetrail/internal/plan"
	"github.com/parquetrail/parquetrail/internal/store"
	"github.com/parquetrail/parquetrail/internal/window"
)

// Keys of the credentials Secret.
const (
	secretAccessKeyID     = "AWS_ACCESS_KEY_ID"
	secretSecretAccessKey = "AWS_SECRET_ACCESS_KEY"
	secretSessionToken    = "AWS_SESSION_TOKEN"
)

// destination opens the day's destination, once per reconcile: the
// credentials Secret is read at most once, and a failure to open is not
// retried within the reconcile. Without a credentials Secret the manager
// uses its own identity (the SDK's default chain). The manager never opens
// the source: the plan Job lists it.
func (r *Reconciler) destination(ctx context.Context, s *scope) (store.Store, error) {
	if !s.dstOpened {
		s.dst, s.dstErr = r.openDestination(ctx, s.day)
		s.dstOpened = true
	}
	return s.dst, s.dstErr
}

func (r *Reconciler) openDestination(ctx context.Context, day *v1alpha1.CloudTrailDay) (store.Store, error) {
	open := r.OpenStore
	if open == nil {
		open = store.Open
	}
	o, err := r.storeOptions(ctx, day.Namespace, &day.Spec.Destination)
	if err != nil {
		return nil, err
	}
	return open(ctx, destinationURL(&day.Spec), o)
}

func (r *Reconciler) storeOptions(ctx context.Context, namespace string, s *v1alpha1.ObjectStore) (store.Options, error) {
	o := store.Options{Endpoint: s.Endpoint, Region: s.Region, PathStyle: ptr.Deref(s.PathStyle, false)}
	if s.CredentialsSecret == nil {
		return o, nil
	}
	name := s.CredentialsSecret.Name
	if !r.Config.mayReadSecrets(namespace) {
		return o, &credentialsRefusedError{fmt.Sprintf("the manager reads credentials Secrets only in the namespaces it is given (--secret-namespaces %s), not in %s, so it cannot use the Secret %s/%s",
			r.Config.secretNamespacesText(), namespace, namespace, name)}
	}
	secret := &corev1.Secret{}
	key := client.ObjectKey{Namespace: namespace, Name: name}
	if err := r.APIReader.Get(ctx, key, secret); err != nil {
		return o, fmt.Errorf("reading the credentials Secret %s/%s: %w", namespace, name, err)
	}
	if secret.Labels[v1alpha1.CredentialsLabel] != "true" {
		return o, &credentialsRefusedError{fmt.Sprintf("the Secret %s/%s is not labelled %s=\"true\": the manager uses only Secrets that opt in (kubectl label secret -n %s %s %s=true, then rerun the day)",
			namespace, name, v1alpha1.CredentialsLabel, namespace, name, v1alpha1.CredentialsLabel)}
	}
	o.AccessKeyID = string(secret.Data[secretAccessKeyID])
	o.SecretAccessKey = string(secret.Data[secretSecretAccessKey])
	o.SessionToken = string(secret.Data[secretSessionToken])
	if o.AccessKeyID == "" || o.SecretAccessKey == "" {
		return o, fmt.Errorf("the credentials Secret %s/%s needs the keys %s and %s", namespace, name, secretAccessKeyID, secretSecretAccessKey)
	}
	return o, nil
}

// credentialsRefusedError is a credentials Secret the manager may not use:
// only a change by the user (a label, the manager's namespaces) fixes it.
type credentialsRefusedError struct{ msg string }

func (e *credentialsRefusedError) Error() string { return e.msg }

// mayReadSecrets says whether the manager reads credentials Secrets in ns.
func (c *Config) mayReadSecrets(ns string) bool {
	return slices.Contains(c.SecretNamespaces, "*") || slices.Contains(c.SecretNamespaces, ns)
}

func (c *Config) secretNamespacesText() string {
	if len(c.SecretNamespaces) == 0 {
		return `""`
	}
	return strings.Join(c.SecretNamespaces, ",")
}

// removeStaging removes the staging areas of the day's earlier attempts
// (every attempt when keep is ""), never another day's. Failures are only
// logged: staging is not output, and deletion retries.
func (r *Reconciler) removeStaging(ctx context.Context, dst store.Store, ymd string, day *v1alpha1.CloudTrailDay, keep string) (removed int, err error) {
	prefix := plan.DayStagingPrefix(ymd)
	dirs, err := dst.ListDirs(ctx, prefix)
	var keys []string
	for _, dir := range dirs {
		run := path.Base(strings.TrimSuffix(dir, "/"))
		if run == keep || !runOf(day.UID, run) {
			continue
		}
		if err = dst.List(ctx, dir, func(o store.Object) error {
			keys = append(keys, o.Key)
			return nil
		}); err != nil {
			break
		}
	}
	for len(keys) > 0 && err == nil {
		n := min(len(keys), 1000)
		err = dst.Delete(ctx, keys[:n]...)
		removed += n
		keys = keys[n:]
	}
	if err != nil {
		log.FromContext(ctx).Error(err, "Removing staging data", "prefix", prefix, "day", uidPart(day.UID))
	}
	return removed, err
}

// failedShards names the objects behind failed shards, from the plan. It is
// best effort: the message is still useful without the objects.
func (r *Reconciler) failedShards(ctx context.Context, s *scope, indexes []int) []failedShard {
	const maxShards, maxObjects = 5, 3
	if len(indexes) == 0 || s.day.Status.Plan == nil {
		return nil
	}
	dst, err := r.destination(ctx, s)
	if err != nil {
		return nil
	}
	p, _, err := plan.Read(ctx, dst, s.day.Status.Plan.Key)
	if err != nil {
		log.FromContext(ctx).Error(err, "Reading the plan to name failed shards")
		return nil
	}
	var out []failedShard
	for _, i := range indexes[:min(len(indexes), maxShards)] {
		if i >= len(p.Shards) {
			continue
		}
		fs := failedShard{Index: i}
		// A worker that failed on bad input left the problem, which names
		// the object and the position in it.
		var f plan.Failure
		if err := readJSON(ctx, dst, plan.FailureKey(p.YMD(), p.RunID, i), &f); err == nil && f.Error != "" {
			fs.Problem = f.Error
			out = append(out, fs)
			continue
		}
		objs := p.Shards[i].Objects
		for _, o := range objs[:min(len(objs), maxObjects)] {
			fs.Objects = append(fs.Objects, sourceURL(&s.day.Spec)+"/"+o.Key)
		}
		fs.More = len(objs) - len(fs.Objects)
		out = append(out, fs)
	}
	return out
}

// addResults sums the result files of the attempt's shards into the
// counts. They are read before the merge runs, which removes staging.
func (r *Reconciler) addResults(ctx context.Context, s *scope) error {
	st := &s.day.Status
	w, err := s.window, s.windowErr
	if err != nil {
		return err
	}
	dst, err := r.destination(ctx, s)
	if err != nil {
		return err
	}
	results := make([]plan.ShardResult, st.Shards.Total)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(max(1, r.Config.ReadConcurrency))
	for i := range results {
		g.Go(func() error {
			return readJSON(gctx, dst, plan.ResultKey(w.YMD(), st.RunID, i), &results[i])
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	c := &st.Counts
	c.RecordsRead, c.RecordsOutsideWindow, c.Malformed, c.UnreadableObjects = 0, 0, 0, 0
	var written int64
	for _, res := range results {
		c.RecordsRead += res.Read
		c.RecordsOutsideWindow += res.Outside
		c.Malformed += res.Malformed
		c.UnreadableObjects += res.Unreadable
		written += res.Written
	}
	st.Merge = planMergeRanges(w, &s.day.Spec.Workers, results, written)
	return nil
}

// planMergeRanges splits the merge of a day whose shards wrote rows into
// ranges of event time balanced by the rows the shards counted per 5-minute
// step, one per merge index; a small day, or one whose shards did not count
// (results of an older worker), is merged by one pod.
func planMergeRanges(w window.Day, workers *v1alpha1.Workers, results []plan.ShardResult, rows int64) v1alpha1.MergeProgress {
	one := v1alpha1.MergeProgress{Indexes: 1, Progress: progress(0, 1)}
	r := mergeIndexes(workers, rows)
	if r <= 1 {
		return one
	}
	ptrs := make([]*plan.ShardResult, len(results))
	for i := range results {
		ptrs[i] = &results[i]
	}
	spans, err := plan.SplitDay(w.Start, w.End, ptrs, r)
	if err != nil || len(spans) <= 1 {
		return one
	}
	m := v1alpha1.MergeProgress{Indexes: int32(len(spans)), Progress: progress(0, int32(len(spans)))}
	for _, b := range plan.Bounds(spans) {
		m.Ranges = append(m.Ranges, int32(b))
	}
	return m
}

// otherRunError says the day's manifest was published by another run.
type otherRunError struct{ runID, want string }

func (e *otherRunError) Error() string {
	return fmt.Sprintf("the day's manifest is of run %q, not of this attempt's run %s", e.runID, e.want)
}

// readManifest reads the day's published manifest, and the run's report
// when the merge kept one, into the status.
func (r *Reconciler) readManifest(ctx context.Context, s *scope, dst store.Store, ymd string) error {
	st := &s.day.Status
	var m plan.Manifest
	if err := readJSON(ctx, dst, plan.ManifestKey(ymd), &m); err != nil {
		return err
	}
	if m.RunID != st.RunID {
		return &otherRunError{runID: m.RunID, want: st.RunID}
	}
	c := &st.Counts
	c.RecordsWritten = m.Rows
	c.Duplicates = m.Duplicates
	out := &v1alpha1.Output{
		Location: objectURL(&s.day.Spec, plan.PartitionPrefix(ymd)),
		Manifest: objectURL(&s.day.Spec, plan.ManifestKey(ymd)),
		Files:    int32(len(m.Files)),
	}
	for _, f := range m.Files {
		out.Bytes += f.Bytes
	}
	var rep plan.Report
	switch err := readJSON(ctx, dst, plan.ReportKey(ymd, st.RunID), &rep); {
	case err == nil && rep.RunID == st.RunID:
		c.RecordsRead, c.RecordsWritten = rep.Records.Read, rep.Records.Written
		c.RecordsOutsideWindow, c.Duplicates, c.Malformed = rep.Records.Outside, rep.Records.Duplicates, rep.Records.Malformed
		c.LateEvents = rep.Records.Late
		c.UnreadableObjects = rep.Objects.Unreadable
		out.Errors = rep.Errors
	case err != nil && !store.IsNotExist(err):
		return err
	default:
		if c.Malformed > 0 || c.UnreadableObjects > 0 {
			out.Errors = objectURL(&s.day.Spec, plan.ErrorsKey(ymd, st.RunID))
		}
	}
	st.Output = out
	return nil
}
