package controllers

import (
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	batchv1 "k8s.io/api/batch/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/parquetrail/parquetrail/api/v1alpha1"
	"github.com/parquetrail/parquetrail/internal/controllertest"
	"github.com/parquetrail/parquetrail/internal/plan"
	"github.com/parquetrail/parquetrail/internal/store/s3test"
)

// Two CloudTrailDays for one date and destination: the plan lists the
// other days that publish the same partition (its rivals, whose published
// day the merge does not replace), and a merge refused because one of them
// or a newer run published first fails the day naming that run and day.
// The failed attempt's staging is removed, another day's is not.
func TestReconcileRivals(t *testing.T) {
	const otherUID = "ffffffff-ffff-4fff-8fff-ffffffffffff"
	tests := []struct {
		name      string
		published string // the run whose manifest the merge found
		want      string
	}{
		{"published first by the other day", "20261125T010000Z-ffffffffffff-1",
			"The day was published first by run 20261125T010000Z-ffffffffffff-1 of CloudTrailDay ns/other, which this day does not replace: rerun ns/other to replace its output"},
		{"published by a newer run of the other day", "20261125T030000Z-ffffffffffff-1",
			"The day was published by run 20261125T030000Z-ffffffffffff-1 of CloudTrailDay ns/other, which started after this attempt's run 20261125T020000Z-0a1b2c3d4e5f-1."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, controllertest.MakeDay("2026-11-24", "ns"), nil)
			ep := e.day().Spec.Destination.Endpoint
			for _, d := range []*controllertest.DayWrapper{
				controllertest.MakeDay("other", "ns").UID(otherUID),
				controllertest.MakeDay("kst", "ns2").TimeZone("Asia/Seoul").UID("eeeeeeee-0000-4000-8000-000000000000"), // the same proc_ymd
				controllertest.MakeDay("elsewhere", "ns").Destination("lake", "other").UID("dddddddd-0000-4000-8000-000000000000"),
				controllertest.MakeDay("next", "ns").Date("2026-11-25").UID("cccccccc-0000-4000-8000-000000000000"),
				controllertest.MakeDay("deleting", "ns").Finalizer().UID("bbbbbbbb-0000-4000-8000-000000000000"),
			} {
				d.Endpoint(ep, s3test.Region)
				if err := e.client.Create(e.ctx, d.Obj()); err != nil {
					t.Fatal(err)
				}
			}
			if err := e.client.Delete(e.ctx, controllertest.MakeDay("deleting", "ns").Obj()); err != nil {
				t.Fatal(err)
			}

			job := e.toFlattening()
			d := e.day()
			p, _, err := plan.Read(e.ctx, e.dst(), d.Status.Plan.Key)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]string{"eeeeeeee0000", "ffffffffffff"}, p.Rivals); diff != "" {
				t.Errorf("rivals in the plan (-want +got):\n%s", diff)
			}

			if _, err := controllertest.Flatten(e.ctx, e.dst(), d.Status.Plan.Key, func(int) controllertest.Shard { return controllertest.Shard{} }); err != nil {
				t.Fatal(err)
			}
			e.updateJob(job.Name, func(j *batchv1.Job) { controllertest.SuccessCriteriaMet(j, e.clock.Now()) })
			e.updateJob(job.Name, func(j *batchv1.Job) { controllertest.Complete(j, e.clock.Now()) })
			e.reconcile()
			e.reconcile()
			otherStaging := plan.StagingPrefix("20261124", tt.published) + "plan.json"
			for key, body := range map[string]string{
				plan.ManifestKey("20261124"): `{"version":1,"runID":"` + tt.published + `","rows":0,"files":[]}`,
				otherStaging:                 "{}",
			} {
				w, _ := e.dst().Create(e.ctx, key)
				w.Write([]byte(body))
				if err := w.Close(); err != nil {
					t.Fatal(err)
				}
			}
			e.updateJob("2026-11-24-1-merge", func(j *batchv1.Job) {
				controllertest.FailureTarget(j, e.clock.Now(), batchv1.JobReasonPodFailurePolicy, "Container worker for pod ns/x exited with code 3", "")
			})
			e.updateJob("2026-11-24-1-merge", func(j *batchv1.Job) {
				controllertest.Failed(j, e.clock.Now(), batchv1.JobReasonPodFailurePolicy, "Container worker for pod ns/x exited with code 3")
			})
			e.reconcile()
			wantStage(t, e.day(), v1alpha1.StageFailed, tt.want)
			if got := s3test.Keys(t, e.s3, "lake", "cloudtrail/"+plan.DayStagingPrefix("20261124")); !slices.Equal(got, []string{"cloudtrail/" + otherStaging}) {
				t.Errorf("staging after the failed merge: %v, want only the other day's", got)
			}
		})
	}
}

// The day part of a run names the day it belongs to, if that day exists.
func TestDayOfRun(t *testing.T) {
	e := newEnv(t, controllertest.MakeDay("2026-11-24", "ns"), nil)
	var got []string
	for _, run := range []string{"20261125T020000Z-0a1b2c3d4e5f-3", "0a1b2c3d4e5f-1", "20261125T020000Z-ffffffffffff-1", "20261125T020000Z-0a1b2c"} {
		got = append(got, e.r.dayOfRun(e.ctx, run))
	}
	if diff := cmp.Diff([]string{"ns/2026-11-24", "ns/2026-11-24", "", ""}, got); diff != "" {
		t.Errorf("dayOfRun (-want +got):\n%s", diff)
	}
	if uidPart(types.UID(testUID)) != "0a1b2c3d4e5f" {
		t.Errorf("uidPart(%s) = %s", testUID, uidPart(types.UID(testUID)))
	}
}
