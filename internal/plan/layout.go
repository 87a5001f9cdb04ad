package plan

import "fmt"

// Keys of a run, relative to the destination store. Everything parquetrail
// keeps besides the published data lives under "_parquetrail/", which Hive,
// Athena, Trino, Spark and DuckDB's hive partitioning ignore (leading "_").

// PartitionPrefix is the published folder of a day: "proc_ymd=YYYYMMDD/".
func PartitionPrefix(ymd string) string { return "proc_ymd=" + ymd + "/" }

// ManifestKey is the published manifest of a day, beside its files.
func ManifestKey(ymd string) string { return PartitionPrefix(ymd) + "_manifest.json" }

// StagingPrefix holds one attempt's intermediate files.
func StagingPrefix(ymd, runID string) string {
	return "_parquetrail/staging/proc_ymd=" + ymd + "/" + runID + "/"
}

// DayStagingPrefix holds every attempt of a day (removed on deletion).
func DayStagingPrefix(ymd string) string { return "_parquetrail/staging/proc_ymd=" + ymd + "/" }

// PlanKey is the plan manifest of an attempt.
func PlanKey(ymd, runID string) string { return StagingPrefix(ymd, runID) + "plan.json" }

// PlanFailureKey is what the plan worker leaves when it fails on bad input
// (an integrity check that failed, among others): the problem and the
// integrity report, so that the operator can name the files in the day's
// status.
func PlanFailureKey(ymd, runID string) string { return StagingPrefix(ymd, runID) + "plan.failed.json" }

// PartKey is the Parquet part a shard's worker writes.
func PartKey(ymd, runID string, shard int) string {
	return StagingPrefix(ymd, runID) + fmt.Sprintf("parts/shard-%05d.parquet", shard)
}

// ResultKey is the counts and problems a shard's worker reports (JSON).
func ResultKey(ymd, runID string, shard int) string {
	return StagingPrefix(ymd, runID) + fmt.Sprintf("results/shard-%05d.json", shard)
}

// RangeManifestKey is what index i of a range-partitioned merge leaves for
// the publisher: the manifest of the files of its range (a Manifest).
func RangeManifestKey(ymd, runID string, i int) string {
	return StagingPrefix(ymd, runID) + fmt.Sprintf("ranges/range-%04d.json", i)
}

// ErrorsKey is the run's error manifest: every malformed record and
// unreadable object, by object key and position (JSON lines).
func ErrorsKey(ymd, runID string) string {
	return "_parquetrail/errors/proc_ymd=" + ymd + "/" + runID + ".jsonl"
}

// ReportKey is an attempt's report: the pipeline's summary of the day
// (counts, accounting, timings) as JSON, kept after staging is removed so
// that the operator can read it into the resource's status.
func ReportKey(ymd, runID string) string {
	return "_parquetrail/reports/proc_ymd=" + ymd + "/" + runID + ".json"
}

// FailureKey is what a shard's worker leaves when it fails on bad input:
// its result so far, with the problem that stopped it, so that the operator
// can name the object in the day's status.
func FailureKey(ymd, runID string, shard int) string {
	return StagingPrefix(ymd, runID) + fmt.Sprintf("results/shard-%05d.failed.json", shard)
}
