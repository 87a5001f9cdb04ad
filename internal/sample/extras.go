package sample

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"time"

	"github.com/parquetrail/parquetrail/internal/digest"
	"github.com/parquetrail/parquetrail/internal/problem"
	"github.com/parquetrail/parquetrail/internal/trail"
)

// badRecord is one of the documented malformed records EdgeCases puts in a
// log file that is otherwise well formed.
type badRecord struct {
	kind, detail string
	write        func(b []byte, g *generator, s *stream, r *rand.Rand) []byte
}

var badRecords = []badRecord{
	{
		kind:   problem.KindBadRecord,
		detail: "an element of Records is a JSON string, not an object",
		write: func(b []byte, _ *generator, _ *stream, _ *rand.Rand) []byte {
			return append(b, `"this element of Records is not a record"`...)
		},
	},
	{
		kind:   problem.KindNoEventTime,
		detail: "a record without eventTime",
		write: func(b []byte, g *generator, s *stream, r *rand.Rand) []byte {
			return appendPlainRecord(b, s, r, "")
		},
	},
	{
		kind:   problem.KindBadEventTime,
		detail: "eventTime names February 30",
		write: func(b []byte, g *generator, s *stream, r *rand.Rand) []byte {
			return appendPlainRecord(b, s, r, g.opts.Date[:4]+"-02-30T10:00:00Z")
		},
	},
}

// appendPlainRecord appends a small well-formed AssumeRole record with the
// given eventTime ("" leaves the member out).
func appendPlainRecord(b []byte, s *stream, r *rand.Rand, eventTime string) []byte {
	b = append(b, `{"eventVersion":"1.08","userIdentity":{"type":"AWSService","invokedBy":"ec2.amazonaws.com"},`...)
	if eventTime != "" {
		b = append(b, `"eventTime":"`...)
		b = append(b, eventTime...)
		b = append(b, `",`...)
	}
	b = append(b, `"eventSource":"sts.amazonaws.com","eventName":"AssumeRole","awsRegion":"`...)
	b = append(b, s.region...)
	b = append(b, `","sourceIPAddress":"ec2.amazonaws.com","userAgent":"ec2.amazonaws.com","requestParameters":{"roleArn":"arn:aws:iam::`...)
	b = append(b, s.account...)
	b = append(b, `:role/instance-role","roleSessionName":"i-0`...)
	b = appendReshaped(b, r, "0123456789abcdef")
	b = append(b, `"},"responseElements":null,"requestID":"`...)
	b = appendUUID(b, r, false)
	b = append(b, `","eventID":"`...)
	b = appendUUID(b, r, false)
	b = append(b, `","readOnly":true,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"`...)
	b = append(b, s.account...)
	return append(b, `","eventCategory":"Management"}`...)
}

// finish writes the objects that depend on the log files (digests) or stand
// beside them, and totals the stats.
func (g *generator) finish(ctx context.Context, w Sink) error {
	o := g.opts
	st := &g.stats
	st.WindowStart, st.WindowEnd = g.day.Start, g.day.End
	st.RangeStart, st.RangeEnd = g.rStart, g.rEnd
	st.Generated = int64(o.Records)
	wk := newWorker()
	er := newRand(o.Seed, domExtra, 0)
	put := func(key string, data []byte) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := w.Put(key, data); err != nil {
			return fmt.Errorf("sample: put %s: %w", key, err)
		}
		st.Objects++
		return nil
	}
	putGzip := func(key string, data []byte) (int, error) {
		gz, err := wk.compress(data)
		if err != nil {
			return 0, err
		}
		return len(gz), put(key, gz)
	}
	delivered := func(t time.Time) {
		if st.FirstDelivery.IsZero() || t.Before(st.FirstDelivery) {
			st.FirstDelivery = t
		}
		if t.After(st.LastDelivery) {
			st.LastDelivery = t
		}
	}

	for k := range g.files {
		f, res := &g.files[k], &g.results[k]
		st.Objects++
		st.LogFiles++
		if f.late {
			st.LateFiles++
		}
		delivered(f.delivered)
		st.Records += res.records
		st.Duplicates += res.duplicates
		st.InWindow += res.inWindow
		st.OutOfWindow += res.outWindow
		st.InWindowDuplicates += res.inWindowDups
		st.InWindowDeliveredLate += res.lateInWindow
		st.JSONBytes += res.jsonBytes
		st.GzipBytes += res.gzipBytes
		st.Verbatim += int64(len(f.verbatim))
		st.Malformed += int64(len(res.problems))
		st.Problems = append(st.Problems, res.problems...)
	}
	st.InWindowDuplicates += g.verbInDups
	st.InWindowWithoutEventID = g.verbNoID

	// Edge cases: objects in the log layout that cannot be read, and one
	// without records.
	if o.EdgeCases && len(g.streams) > 0 {
		s := &g.streams[0]
		mid := g.day.Start.Add(g.day.Length() / 2).Truncate(time.Minute)

		key := g.logKey(s, mid.Add(7*time.Minute), randString(er, 16, alnum))
		wk.buf = append(wk.buf[:0], `{"Records":[`...)
		for i := 0; i < 20; i++ {
			if i > 0 {
				wk.buf = append(wk.buf, ',')
			}
			seedPCG(&wk.pcg, o.Seed, domExtra, uint64(1000+i))
			t := g.lib.templates[s.pick(wk.r.Float64())]
			wk.buf = g.fill(wk, t, s, mid.Add(-time.Duration(i)*time.Second))
		}
		wk.buf = append(wk.buf, "]}"...)
		gz, err := wk.compress(wk.buf)
		if err != nil {
			return err
		}
		const cut = 64
		if err := put(key, append([]byte(nil), gz[:cut]...)); err != nil {
			return err
		}
		st.LogFiles++
		delivered(mid.Add(7 * time.Minute))
		st.Problems = append(st.Problems, problem.Problem{Object: key, Record: -1, Offset: -1,
			Kind: problem.KindUnreadable, Detail: fmt.Sprintf("gzip stream cut after %d bytes, inside the first record", cut)})

		key = g.logKey(s, mid.Add(13*time.Minute), randString(er, 16, alnum))
		body := `<?xml version="1.0" encoding="UTF-8"?>` + "\n" +
			`<Error><Code>AccessDenied</Code><Message>Access Denied</Message><RequestId>` +
			randString(er, 16, "0123456789ABCDEF") + `</RequestId><HostId>` + randString(er, 76, alnum) + `</HostId></Error>`
		if _, err := putGzip(key, []byte(body)); err != nil {
			return err
		}
		st.LogFiles++
		delivered(mid.Add(13 * time.Minute))
		st.Problems = append(st.Problems, problem.Problem{Object: key, Record: -1, Offset: -1,
			Kind: problem.KindInvalidJSON, Detail: "an S3 error document (XML), not JSON"})

		key = g.logKey(s, mid.Add(19*time.Minute), randString(er, 16, alnum))
		empty := []byte(`{"Records":[]}`)
		n, err := putGzip(key, empty)
		if err != nil {
			return err
		}
		st.LogFiles++
		delivered(mid.Add(19 * time.Minute))
		st.JSONBytes += int64(len(empty))
		st.GzipBytes += int64(n)
	}
	st.Rows = st.InWindow - st.InWindowDuplicates

	if o.NoSiblings {
		return nil
	}
	if err := g.writeInsights(wk, er, putGzip); err != nil {
		return err
	}
	st.OtherObjects += len(o.Accounts)
	if err := g.writeDigests(er, putGzip); err != nil {
		return err
	}
	for _, acct := range o.Accounts {
		if err := g.writeFlowLog(er, acct, putGzip); err != nil {
			return err
		}
		// AWS Config checks that it may write to the bucket.
		if err := put(trail.LogsPrefix(o.Prefix)+acct+"/Config/ConfigWritabilityCheckFile", []byte{}); err != nil {
			return err
		}
		st.OtherObjects += 2
	}
	return nil
}

// writeInsights writes one CloudTrail-Insight/ file per account, in the
// first region, with the embedded Insights events (and, with Verbatim, the
// real ones in the first account's file).
func (g *generator) writeInsights(wk *worker, er *rand.Rand, putGzip func(string, []byte) (int, error)) error {
	o := g.opts
	mid := g.day.Start.Add(g.day.Length() / 2).Truncate(time.Minute)
	at := mid.Add(31 * time.Minute)
	for ai := range o.Accounts {
		s := &g.streams[ai*len(o.Regions)]
		wk.buf = append(wk.buf[:0], `{"Records":[`...)
		n := 0
		for ti, t := range g.lib.insights {
			if n > 0 {
				wk.buf = append(wk.buf, ',')
			}
			seedPCG(&wk.pcg, o.Seed, domExtra, uint64(100000+ai*1000+ti))
			wk.buf = g.fill(wk, t, s, mid.Add(-time.Duration(ti+1)*time.Minute))
			n++
		}
		if ai == 0 {
			for _, p := range g.verbInsightIdx {
				if n > 0 {
					wk.buf = append(wk.buf, ',')
				}
				rec := &g.lib.verbatim[p.v]
				wk.buf = append(wk.buf, rec.pre...)
				wk.buf = appendEventTime(wk.buf, p.t)
				wk.buf = append(wk.buf, rec.post...)
				n++
			}
		}
		wk.buf = append(wk.buf, "]}"...)
		key := g.accountPrefix(s.account) + "CloudTrail-Insight/" + s.region + "/" + at.Format("2006/01/02") + "/" +
			fmt.Sprintf("%s_CloudTrail-Insight_%s_%sZ_%s.json.gz", s.account, s.region, at.Format("20060102T1504"), randString(er, 16, alnum))
		if _, err := putGzip(key, wk.buf); err != nil {
			return err
		}
	}
	return nil
}

// writeDigests writes each stream's hourly digest files, as log file
// validation does: each lists the log files delivered in its hour with the
// SHA-256 of their uncompressed content, and chains to the previous digest.
// The signatures are random: they verify against no key.
func (g *generator) writeDigests(er *rand.Rand, putGzip func(string, []byte) (int, error)) error {
	o := g.opts
	home := o.Regions[0]
	fingerprint := randString(er, 32, hexDigits)
	ts := func(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }
	sp := func(s string) *string { return &s }
	for si := range g.streams {
		s := &g.streams[si]
		files := append([]int(nil), s.files...)
		if len(files) == 0 {
			continue
		}
		sort.SliceStable(files, func(a, b int) bool { return g.files[files[a]].delivered.Before(g.files[files[b]].delivered) })
		first, last := g.files[files[0]].delivered, g.files[files[len(files)-1]].delivered
		end := first.Truncate(time.Hour).Add(91 * time.Second)
		if !end.After(first) {
			end = end.Add(time.Hour)
		}
		var prevKey, prevHash, prevSig string
		next := 0
		for {
			start := end.Add(-time.Hour)
			if start.After(last) {
				break
			}
			key := g.accountPrefix(s.account) + "CloudTrail-Digest/" + s.region + "/" + end.Format("2006/01/02") + "/" +
				fmt.Sprintf("%s_CloudTrail-Digest_%s_%s_%s_%s.json.gz", s.account, s.region, o.TrailName, home, end.Format("20060102T150405Z"))
			d := digest.Digest{
				AWSAccountID:         s.account,
				StartTime:            ts(start),
				EndTime:              ts(end),
				S3Bucket:             o.Bucket,
				S3Object:             key,
				PublicKeyFingerprint: fingerprint,
				SignatureAlgorithm:   "SHA256withRSA",
				LogFiles:             []digest.LogFile{},
			}
			if prevKey != "" {
				d.PreviousS3Bucket = sp(o.Bucket)
				d.PreviousS3Object = sp(prevKey)
				d.PreviousHashValue = sp(prevHash)
				d.PreviousHashAlgorithm = sp("SHA-256")
				d.PreviousSignature = sp(prevSig)
			}
			var oldest, newest time.Time
			for next < len(files) && g.files[files[next]].delivered.Before(end) {
				f, res := &g.files[files[next]], &g.results[files[next]]
				next++
				if res.oldest.IsZero() {
					continue
				}
				d.LogFiles = append(d.LogFiles, digest.LogFile{
					S3Bucket: o.Bucket, S3Object: f.key, HashValue: hexString(res.hash[:]), HashAlgorithm: "SHA-256",
					NewestEventTime: ts(res.newest), OldestEventTime: ts(res.oldest),
				})
				if oldest.IsZero() || res.oldest.Before(oldest) {
					oldest = res.oldest
				}
				if res.newest.After(newest) {
					newest = res.newest
				}
			}
			if !oldest.IsZero() {
				d.OldestEventTime, d.NewestEventTime = sp(ts(oldest)), sp(ts(newest))
			}
			data, err := json.Marshal(d)
			if err != nil {
				return err
			}
			if _, err := putGzip(key, data); err != nil {
				return err
			}
			g.stats.DigestFiles++
			sum := sha256.Sum256(data)
			prevKey, prevHash, prevSig = key, hexString(sum[:]), randString(er, 512, hexDigits)
			end = end.Add(time.Hour)
		}
	}
	return nil
}

// writeFlowLog writes one VPC flow log file, another service's log under the
// same AWSLogs/<account>/ folder (never under the Organization folder).
func (g *generator) writeFlowLog(er *rand.Rand, acct string, putGzip func(string, []byte) (int, error)) error {
	o := g.opts
	region := o.Regions[0]
	at := g.day.Start.Add(g.day.Length() / 2).Truncate(time.Minute)
	var sb strings.Builder
	sb.WriteString("version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status\n")
	eni := "eni-" + randString(er, 17, hexDigits)
	for i := 0; i < 20; i++ {
		start := at.Add(-time.Duration(10-i/2) * time.Minute).Unix()
		action := "ACCEPT"
		if er.IntN(5) == 0 {
			action = "REJECT"
		}
		fmt.Fprintf(&sb, "2 %s %s 10.0.%d.%d %s %d %d 6 %d %d %d %d %s OK\n", acct, eni,
			er.IntN(4), 2+er.IntN(250), publicIP(er), 1024+er.IntN(60000), []int{443, 22, 80, 3306}[er.IntN(4)],
			1+er.IntN(40), 60+er.IntN(90000), start, start+60, action)
	}
	key := trail.LogsPrefix(o.Prefix) + acct + "/vpcflowlogs/" + region + "/" + at.Format("2006/01/02") + "/" +
		fmt.Sprintf("%s_vpcflowlogs_%s_fl-%s_%sZ_%s.log.gz", acct, region, randString(er, 17, hexDigits), at.Format("20060102T1504"), randString(er, 8, hexDigits))
	_, err := putGzip(key, []byte(sb.String()))
	return err
}
