// Package trail knows the key layout in which a CloudTrail trail delivers its
// event-log files to S3:
//
//	[prefix/]AWSLogs/[o-<orgid>/]<account>/CloudTrail/<region>/YYYY/MM/DD/<account>_CloudTrail_<region>_YYYYMMDDTHHmmZ_<unique>.json.gz
//
// It tells event logs from the other files that share the bucket (digests,
// Insights, other services' logs) and builds the listing prefixes of a day.
package trail

import (
	"regexp"
	"strings"
	"time"
)

// Folder names of the layout.
const (
	LogsFolder  = "AWSLogs"
	TrailFolder = "CloudTrail" // event logs; digests and Insights have folders of their own
)

// Key is the parsed key of one event-log file.
type Key struct {
	// Prefix is the part of the key before "AWSLogs/": "" or a path ending in "/".
	Prefix string
	// OrgID is the Organization folder ("o-abc123...") of an Organization
	// trail, "" for an account trail.
	OrgID   string
	Account string // 12 digits
	Region  string
	// Date is the UTC delivery date folder, "YYYY/MM/DD".
	Date string
	// Delivered is the UTC delivery time from the file name, to the minute.
	Delivered time.Time
	// Name is the file name, the last segment of the key.
	Name string
}

// String rebuilds the key.
func (k Key) String() string {
	return DatePrefix(k.Prefix, k.OrgID, k.Account, k.Region, k.Date) + k.Name
}

var (
	accountRE = regexp.MustCompile(`^[0-9]{12}$`)
	orgRE     = regexp.MustCompile(`^o-[a-z0-9]{1,32}$`)
	regionRE  = regexp.MustCompile(`^[a-z]{2}(-[a-z0-9]+)+$`)
	// <account>_CloudTrail_<region><sep><YYYYMMDDTHHmm[ss]>[Z][_<unique>].json[.gz]
	// The separator before the time is "_" in AWS's layout; "-" is accepted
	// too, as written by some tools that copy or generate trails.
	fileRE = regexp.MustCompile(`^([0-9]{12})_CloudTrail_([a-z0-9-]+?)[_-]([0-9]{8}T[0-9]{4}(?:[0-9]{2})?)Z?(?:_[A-Za-z0-9]+)?\.json(?:\.gz)?$`)
)

// IsAccount reports whether s is a 12-digit AWS account ID.
func IsAccount(s string) bool { return accountRE.MatchString(s) }

// IsOrgID reports whether s is an Organization folder name ("o-" and
// lowercase letters or digits).
func IsOrgID(s string) bool { return orgRE.MatchString(s) }

// IsRegion reports whether s looks like an AWS region name ("us-east-1",
// "us-gov-west-1", "cn-north-1").
func IsRegion(s string) bool { return regionRE.MatchString(s) }

// ParseKey parses the key of an event-log file. ok is false for anything
// else: digests (CloudTrail-Digest/), Insights (CloudTrail-Insight/), other
// services' logs, folders, and names that do not follow the layout.
func ParseKey(key string) (k Key, ok bool) {
	segs := strings.Split(key, "/")
	n := len(segs)
	if n < 8 {
		return Key{}, false
	}
	name, dd, mm, yyyy := segs[n-1], segs[n-2], segs[n-3], segs[n-4]
	region, folder, account := segs[n-5], segs[n-6], segs[n-7]
	if folder != TrailFolder || !IsAccount(account) || !IsRegion(region) {
		return Key{}, false
	}
	logs := n - 8
	var org string
	if segs[logs] != LogsFolder {
		if logs == 0 || !IsOrgID(segs[logs]) || segs[logs-1] != LogsFolder {
			return Key{}, false
		}
		org = segs[logs]
		logs--
	}
	date := yyyy + "/" + mm + "/" + dd
	if len(yyyy) != 4 || len(mm) != 2 || len(dd) != 2 {
		return Key{}, false
	}
	if _, err := time.Parse("2006/01/02", date); err != nil {
		return Key{}, false
	}
	m := fileRE.FindStringSubmatch(name)
	if m == nil || m[1] != account || m[2] != region {
		return Key{}, false
	}
	layout := "20060102T1504"
	if len(m[3]) > len(layout) {
		layout += "05"
	}
	delivered, err := time.Parse(layout, m[3])
	if err != nil {
		return Key{}, false
	}
	var prefix string
	if logs > 0 {
		prefix = strings.Join(segs[:logs], "/") + "/"
	}
	return Key{
		Prefix:    prefix,
		OrgID:     org,
		Account:   account,
		Region:    region,
		Date:      date,
		Delivered: delivered,
		Name:      name,
	}, true
}

// root returns root as a key prefix: "" or ending in "/".
func root(r string) string {
	if r == "" || strings.HasSuffix(r, "/") {
		return r
	}
	return r + "/"
}

// LogsPrefix is "<root>/AWSLogs/", where the layout starts.
func LogsPrefix(r string) string { return root(r) + LogsFolder + "/" }

// AccountPrefix is "<root>/AWSLogs/[<org>/]<account>/". org may be given with
// or without its "o-".
func AccountPrefix(r, org, account string) string {
	p := LogsPrefix(r)
	if org != "" {
		if !strings.HasPrefix(org, "o-") {
			org = "o-" + org
		}
		p += org + "/"
	}
	return p + account + "/"
}

// RegionsPrefix is "<root>/AWSLogs/[<org>/]<account>/CloudTrail/", whose
// sub-folders are the trail's regions.
func RegionsPrefix(r, org, account string) string {
	return AccountPrefix(r, org, account) + TrailFolder + "/"
}

// RegionPrefix is ".../CloudTrail/<region>/".
func RegionPrefix(r, org, account, region string) string {
	return RegionsPrefix(r, org, account) + region + "/"
}

// DatePrefix is ".../CloudTrail/<region>/YYYY/MM/DD/", the folder a trail
// delivers one UTC day of one region's event logs to. day is "YYYY/MM/DD"
// (window.FolderLayout).
func DatePrefix(r, org, account, region, day string) string {
	return RegionPrefix(r, org, account, region) + day + "/"
}
