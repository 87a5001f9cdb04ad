// Package sample generates one day of AWS CloudTrail logs, deterministically
// from a seed, in the exact key layout a trail delivers to S3:
//
//	[prefix/]AWSLogs/[o-<orgid>/]<account>/CloudTrail/<region>/YYYY/MM/DD/<account>_CloudTrail_<region>_YYYYMMDDTHHmmZ_<unique>.json.gz
//
// Each log file is {"Records":[...]} compressed with gzip. The records take
// the shapes of real published CloudTrail records (embedded from records/,
// see records/NOTICE) with fresh values: eventTime, eventID, requestID and
// other UUIDs, source IP addresses and access key IDs from per-account
// pools, timestamps inside the record moved along with eventTime, and the
// record's account and region replaced by the file's wherever they occur.
// readOnly and managementEvent are strings ("true") in some shapes, as in
// real logs.
//
// A day is delivered over DeliveryHours centred on the local day: every
// eventTime lies inside that range, most of them minutes before the delivery
// time of their file. Some records are re-delivered in a second file
// (DuplicateRate), some files arrive late in the next UTC day's folder
// (LateRate), and beside the logs the bucket holds digest files
// (CloudTrail-Digest/), an Insights file (CloudTrail-Insight/) and other
// services' objects, so that selecting event logs is exercised.
//
// Same Options (Seed included) → byte-identical objects, whatever the
// parallelism. Stats says what was written, including how many rows a
// correct conversion of the day writes.
package sample

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"time"

	"github.com/parquetrail/parquetrail/internal/problem"
	"github.com/parquetrail/parquetrail/internal/trail"
	"github.com/parquetrail/parquetrail/internal/window"
)

// Version names the generator's output format. It changes whenever the same
// Options would produce different objects, so that caches keyed by it (see
// hack/gen) are rebuilt.
const Version = "3"

// Options describe the day to generate. The zero value of a field means its
// default.
type Options struct {
	// Seed makes the output: same Options, same bytes.
	Seed int64 `json:"seed"`
	// Date (YYYY-MM-DD) and TimeZone (IANA name, "" for UTC) name the local
	// day the logs are delivered around.
	Date     string `json:"date"`
	TimeZone string `json:"timeZone"`
	// Records is the number of distinct generated events. Re-delivered
	// copies, Verbatim records and EdgeCases come on top.
	Records int `json:"records"`
	// Accounts (12 digits each) and Regions make the trail's streams: every
	// account delivers every region. Defaults: 123456789012, us-east-1.
	Accounts []string `json:"accounts"`
	Regions  []string `json:"regions"`
	// OrgID ("o-..." ) makes an Organization trail's layout; "" an account
	// trail's.
	OrgID string `json:"orgID,omitempty"`
	// Prefix is the trail's S3 key prefix ("" for none).
	Prefix string `json:"prefix,omitempty"`
	// Bucket and TrailName appear inside digest files. Defaults:
	// "parquetrail-sample-trail", "management-events".
	Bucket    string `json:"bucket,omitempty"`
	TrailName string `json:"trailName,omitempty"`
	// Files is the approximate number of event-log files (default:
	// Records/500). Each stream delivers Files/streams of them, evenly
	// spread over the delivery range.
	Files int `json:"files"`
	// DeliveryHours is the length of the delivery range, centred on the
	// local day (default 30: from 3 hours before the day to 3 hours after).
	DeliveryHours float64 `json:"deliveryHours"`
	// DuplicateRate is the fraction of records re-delivered, identical, in a
	// second file of the same stream (default 0.002; negative for none).
	DuplicateRate float64 `json:"duplicateRate"`
	// LateRate is the fraction of log files delivered late: in the first 3
	// hours of the UTC day after their nominal delivery, so into the next
	// UTC date folder (default 0.005; negative for none).
	LateRate float64 `json:"lateRate"`
	// Verbatim adds every embedded real record once, unchanged except for
	// eventTime (moved into the delivery range): their accounts, regions,
	// odd fields and shared eventIDs are kept as published. Records that
	// share an eventID go to one file with one eventTime.
	Verbatim bool `json:"verbatim,omitempty"`
	// EdgeCases adds the documented bad input (see Stats.Problems): a
	// truncated gzip object, an object that is not JSON, a record that is
	// not an object, one without eventTime and one with an impossible
	// eventTime; and a log file with an empty Records array.
	EdgeCases bool `json:"edgeCases,omitempty"`
	// NoSiblings leaves out the objects that are not event logs (digests,
	// Insights, other services' files).
	NoSiblings bool `json:"noSiblings,omitempty"`
	// Parallelism is the number of files built at once (default GOMAXPROCS).
	// It does not change the output.
	Parallelism int `json:"-"`
}

// Reference is the benchmark's day: one million records over 2 accounts and
// 3 regions of an Organization trail, about 2,000 files delivered over 30
// hours around a day in Asia/Seoul.
func Reference() Options {
	return Options{
		Seed:          1,
		Date:          "2026-11-24",
		TimeZone:      "Asia/Seoul",
		Records:       1_000_000,
		Accounts:      []string{"381492057716", "504962183349"},
		Regions:       []string{"ap-northeast-2", "us-east-1", "us-west-2"},
		OrgID:         "o-7x2k9q4m1p",
		Files:         2000,
		DeliveryHours: 30,
	}
}

// Demo is the README's day: 20,000 generated records plus every embedded
// real record, some duplicates and late files, and the documented edge
// cases, in Asia/Seoul.
func Demo() Options {
	return Options{
		Seed:          1,
		Date:          "2026-11-24",
		TimeZone:      "Asia/Seoul",
		Records:       20_000,
		Accounts:      []string{"111122223333", "444455556666"},
		Regions:       []string{"ap-northeast-2", "us-east-1", "eu-west-1"},
		OrgID:         "o-a1b2c3d4e5",
		Files:         180,
		DeliveryHours: 30,
		DuplicateRate: 0.005,
		LateRate:      0.03,
		Verbatim:      true,
		EdgeCases:     true,
	}
}

// Preset returns the named Options: "reference" or "demo".
func Preset(name string) (Options, error) {
	switch name {
	case "reference":
		return Reference(), nil
	case "demo":
		return Demo(), nil
	}
	return Options{}, fmt.Errorf("sample: unknown preset %q (want reference or demo)", name)
}

// Stats says what Generate wrote.
type Stats struct {
	// Window is the local day in UTC; Range the delivery range, which holds
	// every eventTime.
	WindowStart time.Time `json:"windowStart"`
	WindowEnd   time.Time `json:"windowEnd"`
	RangeStart  time.Time `json:"rangeStart"`
	RangeEnd    time.Time `json:"rangeEnd"`
	// FirstDelivery and LastDelivery bound the delivery times of the event
	// logs (late files included): a run must list up to LastDelivery.
	FirstDelivery time.Time `json:"firstDelivery"`
	LastDelivery  time.Time `json:"lastDelivery"`

	Objects      int `json:"objects"`      // every object written
	LogFiles     int `json:"logFiles"`     // objects in the event-log layout (late, empty and bad ones included)
	LateFiles    int `json:"lateFiles"`    // log files delivered in the UTC day after their nominal delivery
	DigestFiles  int `json:"digestFiles"`  // CloudTrail-Digest/ objects
	OtherObjects int `json:"otherObjects"` // Insights, other services' files, check files

	// Records counts the elements of the Records arrays of the readable log
	// files: Generated + Duplicates + Verbatim + Malformed.
	Records    int64 `json:"records"`
	Generated  int64 `json:"generated"`  // distinct generated events
	Duplicates int64 `json:"duplicates"` // re-delivered copies of generated events
	Verbatim   int64 `json:"verbatim"`   // real records written unchanged but for eventTime
	Malformed  int64 `json:"malformed"`  // malformed records, listed in Problems

	// Records = Malformed + OutOfWindow + InWindow. Of the InWindow records,
	// InWindowDuplicates repeat the eventID of another in-window record
	// (re-delivered copies, and real records that share an eventID), so
	// Rows = InWindow - InWindowDuplicates is what a conversion that drops
	// duplicate eventIDs writes. Records without an eventID
	// (InWindowWithoutEventID of them) are never duplicates.
	OutOfWindow            int64 `json:"outOfWindow"`
	InWindow               int64 `json:"inWindow"`
	InWindowDuplicates     int64 `json:"inWindowDuplicates"`
	InWindowWithoutEventID int64 `json:"inWindowWithoutEventID"`
	Rows                   int64 `json:"rows"`
	// InWindowDeliveredLate counts the InWindow records (copies included)
	// in files delivered after the window's end. A run reads them only if
	// its late-arrival margin reaches LastDelivery - WindowEnd.
	InWindowDeliveredLate int64 `json:"inWindowDeliveredLate"`

	// JSONBytes and GzipBytes measure the readable log files, uncompressed
	// and as stored.
	JSONBytes int64 `json:"jsonBytes"`
	GzipBytes int64 `json:"gzipBytes"`

	// Problems lists the bad input EdgeCases adds, as a conversion should
	// report it (Offset is -1: left to the reader).
	Problems []problem.Problem `json:"problems,omitempty"`
}

// Generate writes the day described by opts to w.
func Generate(ctx context.Context, opts Options, w Sink) (Stats, error) {
	if err := opts.normalize(); err != nil {
		return Stats{}, err
	}
	l, err := loadLibrary()
	if err != nil {
		return Stats{}, err
	}
	day, err := window.New(opts.Date, opts.TimeZone)
	if err != nil {
		return Stats{}, fmt.Errorf("sample: %w", err)
	}
	g := newGenerator(opts, l, day)
	if err := g.plan(); err != nil {
		return Stats{}, err
	}
	if err := g.run(ctx, w); err != nil {
		return Stats{}, err
	}
	return g.stats, nil
}

func (o *Options) normalize() error {
	if o.Records < 0 {
		return fmt.Errorf("sample: Records %d is negative", o.Records)
	}
	if len(o.Accounts) == 0 {
		o.Accounts = []string{"123456789012"}
	}
	if len(o.Regions) == 0 {
		o.Regions = []string{"us-east-1"}
	}
	seen := map[string]bool{}
	for _, a := range o.Accounts {
		if !trail.IsAccount(a) {
			return fmt.Errorf("sample: account %q: want 12 digits", a)
		}
		if seen[a] {
			return fmt.Errorf("sample: account %s given twice", a)
		}
		seen[a] = true
	}
	for _, r := range o.Regions {
		if !trail.IsRegion(r) {
			return fmt.Errorf("sample: region %q is not a region name", r)
		}
		if seen[r] {
			return fmt.Errorf("sample: region %s given twice", r)
		}
		seen[r] = true
	}
	if o.OrgID != "" && !trail.IsOrgID(o.OrgID) {
		return fmt.Errorf("sample: OrgID %q: want o- and lowercase letters or digits", o.OrgID)
	}
	if o.Prefix != "" && !strings.HasSuffix(o.Prefix, "/") {
		o.Prefix += "/"
	}
	if strings.HasPrefix(o.Prefix, "/") {
		return fmt.Errorf("sample: Prefix %q must not start with /", o.Prefix)
	}
	if o.Bucket == "" {
		o.Bucket = "parquetrail-sample-trail"
	}
	if o.TrailName == "" {
		o.TrailName = "management-events"
	}
	if o.Files <= 0 {
		o.Files = max(1, o.Records/500)
	}
	if o.DeliveryHours == 0 {
		o.DeliveryHours = 30
	}
	if o.DeliveryHours < 1 || o.DeliveryHours > 96 {
		return fmt.Errorf("sample: DeliveryHours %v: want 1 to 96", o.DeliveryHours)
	}
	if o.DuplicateRate == 0 {
		o.DuplicateRate = 0.002
	}
	if o.LateRate == 0 {
		o.LateRate = 0.005
	}
	o.DuplicateRate = min(max(o.DuplicateRate, 0), 0.5)
	o.LateRate = min(max(o.LateRate, 0), 1)
	if o.Parallelism <= 0 {
		o.Parallelism = runtime.GOMAXPROCS(0)
	}
	return nil
}
