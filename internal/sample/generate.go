package sample

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"sync/atomic"
	"time"

	"github.com/klauspost/compress/gzip"
	"golang.org/x/sync/errgroup"

	"github.com/parquetrail/parquetrail/internal/problem"
	"github.com/parquetrail/parquetrail/internal/trail"
	"github.com/parquetrail/parquetrail/internal/window"
)

// gzipLevel is the compression of every object. klauspost's fastest level is
// deterministic and keeps generation quick; the files compress about 4:1.
const gzipLevel = gzip.BestSpeed

// Random streams: every random choice is drawn from a generator seeded by
// (Seed, domain, index), so that a file's bytes depend on nothing but the
// Options, whichever worker builds it and in whatever order.
const (
	domPlan uint64 = iota + 1
	domRecord
	domFile
	domPool
	domExtra
)

func seedPCG(p *rand.PCG, seed int64, dom, i uint64) {
	a := splitmix(uint64(seed) ^ splitmix(dom<<56^i))
	p.Seed(a, splitmix(a^0x9e3779b97f4a7c15))
}

func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

func newRand(seed int64, dom, i uint64) *rand.Rand {
	p := &rand.PCG{}
	seedPCG(p, seed, dom, i)
	return rand.New(p)
}

type stream struct {
	account, region string
	pool            []int     // template indices
	cum             []float64 // cumulative weights over pool
	ips             []string
	akia, asia      []string
	files           []int // indices into generator.files, by delivery
}

func (s *stream) pick(u float64) int {
	x := u * s.cum[len(s.cum)-1]
	return s.pool[sort.SearchFloat64s(s.cum, x)]
}

type placed struct {
	v int       // index into library.verbatim
	t time.Time // its eventTime
}

type fileSpec struct {
	stream    int
	nominal   time.Time // when the events were meant to be delivered
	delivered time.Time // the time in the key
	late      bool
	key       string
	first, n  int   // generated records [first, first+n)
	dups      []int // generated records re-delivered here
	verbatim  []placed
	edge      bool // carries the documented malformed records
}

type fileResult struct {
	jsonBytes, gzipBytes int64
	records              int64
	inWindow, outWindow  int64
	inWindowDups         int64
	lateInWindow         int64
	duplicates           int64
	hash                 [sha256.Size]byte
	oldest, newest       time.Time
	problems             []problem.Problem
}

type generator struct {
	opts           Options
	lib            *library
	day            window.Day
	rStart, rEnd   time.Time
	slot           time.Duration
	streams        []stream
	files          []fileSpec
	firsts         []int // files[k].first, for finding a record's file
	results        []fileResult
	stats          Stats
	verbInWindow   int64
	verbInDups     int64
	verbNoID       int64
	verbOutWindow  int64
	verbInsightIdx []placed
}

func newGenerator(o Options, l *library, day window.Day) *generator {
	return &generator{opts: o, lib: l, day: day}
}

func (g *generator) accountPrefix(account string) string {
	return trail.AccountPrefix(g.opts.Prefix, g.opts.OrgID, account)
}

func (g *generator) logKey(s *stream, at time.Time, unique string) string {
	return trail.DatePrefix(g.opts.Prefix, g.opts.OrgID, s.account, s.region, at.Format(window.FolderLayout)) +
		fmt.Sprintf("%s_CloudTrail_%s_%sZ_%s.json.gz", s.account, s.region, at.Format("20060102T1504"), unique)
}

const alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

func randString(r *rand.Rand, n int, alphabet string) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[r.IntN(len(alphabet))]
	}
	return string(b)
}

// plan decides every file, its key, and which records it carries.
func (g *generator) plan() error {
	o := g.opts
	rangeLen := time.Duration(o.DeliveryHours * float64(time.Hour))
	pad := (rangeLen - g.day.Length()) / 2
	g.rStart = g.day.Start.Add(-pad).Truncate(time.Minute)
	g.rEnd = g.rStart.Add(rangeLen)
	r := newRand(o.Seed, domPlan, 0)

	// Streams: every account delivers every region.
	useUSEast1 := false
	for _, reg := range o.Regions {
		useUSEast1 = useUSEast1 || reg == "us-east-1"
	}
	for ai, acct := range o.Accounts {
		pr := newRand(o.Seed, domPool, uint64(ai))
		ips := make([]string, 512)
		for i := range ips {
			ips[i] = publicIP(pr)
		}
		akia := make([]string, 8)
		for i := range akia {
			akia[i] = "AKIA" + randString(pr, 16, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
		}
		asia := make([]string, 2048)
		for i := range asia {
			asia[i] = "ASIA" + randString(pr, 16, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
		}
		for _, reg := range o.Regions {
			s := stream{account: acct, region: reg, ips: ips, akia: akia, asia: asia}
			s.pool = append(s.pool, g.lib.regional...)
			if reg == "us-east-1" || !useUSEast1 {
				s.pool = append(s.pool, g.lib.global...)
			}
			total := 0.0
			for _, t := range s.pool {
				total += g.lib.templates[t].weight
				s.cum = append(s.cum, total)
			}
			g.streams = append(g.streams, s)
		}
	}

	// Files: evenly spread over the delivery range in each stream.
	ns := len(g.streams)
	per := max(1, int(math.Round(float64(o.Files)/float64(ns))))
	if o.Records > 0 && per*ns > o.Records {
		per = max(1, o.Records/ns)
	}
	interval := rangeLen / time.Duration(per)
	g.slot = min(interval, time.Hour)
	var weights []float64
	for si := range g.streams {
		sw := 1 / (1 + 0.35*float64(si%len(o.Regions))) / (1 + 0.25*float64(si/len(o.Regions)))
		prev := time.Time{}
		for k := 0; k < per; k++ {
			at := g.rStart.Add(time.Duration((float64(k) + 0.5 + 0.6*(r.Float64()-0.5)) * float64(interval))).Truncate(time.Minute)
			at = maxTime(at, g.rStart.Add(time.Minute))
			at = minTime(at, g.rEnd.Add(-time.Minute))
			at = maxTime(at, prev)
			prev = at
			hour := float64(at.In(g.day.Zone).Hour()) + float64(at.Minute())/60
			activity := 0.35 + 1.3*math.Exp(-math.Pow((hour-14)/4.5, 2))
			weights = append(weights, sw*activity*(0.6+0.8*r.Float64()))
			g.files = append(g.files, fileSpec{stream: si, nominal: at, delivered: at})
			g.streams[si].files = append(g.streams[si].files, len(g.files)-1)
		}
	}
	counts := apportion(o.Records, weights)
	first := 0
	for k := range g.files {
		g.files[k].first, g.files[k].n = first, counts[k]
		first += counts[k]
		g.firsts = append(g.firsts, g.files[k].first)
	}

	// Late files: delivered in the first hours of the next UTC day.
	for k := range g.files {
		f := &g.files[k]
		if r.Float64() < o.LateRate {
			f.late = true
			y, m, d := f.nominal.Date()
			next := time.Date(y, m, d+1, 0, 0, 0, 0, time.UTC)
			f.delivered = next.Add(time.Duration(r.Int64N(int64(3 * time.Hour)))).Truncate(time.Minute)
		}
	}
	for k := range g.files {
		f := &g.files[k]
		f.key = g.logKey(&g.streams[f.stream], f.delivered, randString(r, 16, alnum))
	}

	// Duplicates: some records again, identical, in a later file of the
	// same stream.
	if o.Records > 0 {
		nd := int(math.Round(o.DuplicateRate * float64(o.Records)))
		eligible := o.Records
		for si := range g.streams {
			if sf := g.streams[si].files; len(sf) > 1 {
				eligible -= g.files[sf[len(sf)-1]].n
			}
		}
		nd = min(nd, eligible)
		chosen := make(map[int]bool, nd)
		for len(chosen) < nd {
			i := r.IntN(o.Records)
			if chosen[i] {
				continue
			}
			fk := g.fileOf(i)
			sf := g.streams[g.files[fk].stream].files
			pos := sort.SearchInts(sf, fk)
			if pos == len(sf)-1 && len(sf) > 1 {
				continue // no later file in the stream to re-deliver it
			}
			chosen[i] = true
			target := min(pos+1+r.IntN(3), len(sf)-1)
			g.files[sf[target]].dups = append(g.files[sf[target]].dups, i)
		}
	}

	// Verbatim real records, spread over the files.
	if o.Verbatim && len(g.files) > 0 {
		seen := map[string]bool{}
		// Records that share an eventID are one event delivered more than
		// once: they keep one eventTime, as CloudTrail's duplicates do.
		type firstCopy struct {
			file int
			t    time.Time
		}
		firsts := map[string]firstCopy{}
		for v, rec := range g.lib.verbatim {
			if rec.insight {
				at := g.day.Start.Add(g.day.Length() / 2).Add(-time.Duration(r.Int64N(int64(time.Hour)))).Truncate(time.Second)
				g.verbInsightIdx = append(g.verbInsightIdx, placed{v: v, t: at})
				continue
			}
			k := r.IntN(len(g.files))
			t := g.eventTime(r, g.files[k].nominal)
			if rec.eventID != "" {
				if first, ok := firsts[rec.eventID]; ok {
					k, t = first.file, first.t
				} else {
					firsts[rec.eventID] = firstCopy{k, t}
				}
			}
			g.files[k].verbatim = append(g.files[k].verbatim, placed{v: v, t: t})
			switch {
			case !g.day.Contains(t):
				g.verbOutWindow++
			case rec.eventID == "":
				g.verbInWindow++
				g.verbNoID++
			case seen[rec.eventID]:
				g.verbInWindow++
				g.verbInDups++
			default:
				g.verbInWindow++
				seen[rec.eventID] = true
			}
		}
	}

	// The file that carries the malformed records: on time, inside the day.
	if o.EdgeCases && len(g.files) > 0 {
		mid := g.day.Start.Add(g.day.Length() / 2)
		best := -1
		for _, k := range g.streams[0].files {
			f := &g.files[k]
			if f.late || !g.day.Contains(f.nominal) {
				continue
			}
			if best < 0 || absDur(f.nominal.Sub(mid)) < absDur(g.files[best].nominal.Sub(mid)) {
				best = k
			}
		}
		if best < 0 {
			best = g.streams[0].files[0]
		}
		g.files[best].edge = true
	}
	g.results = make([]fileResult, len(g.files))
	return nil
}

// apportion splits total into len(w) non-negative parts proportional to w
// (largest remainder), at least one each when total allows.
func apportion(total int, w []float64) []int {
	out := make([]int, len(w))
	if len(w) == 0 || total <= 0 {
		return out
	}
	base := 0
	if total >= len(w) {
		base = 1
	}
	rest := total - base*len(w)
	sum := 0.0
	for _, x := range w {
		sum += x
	}
	type rem struct {
		k int
		r float64
	}
	rems := make([]rem, len(w))
	given := 0
	for k, x := range w {
		q := float64(rest) * x / sum
		out[k] = base + int(q)
		given += int(q)
		rems[k] = rem{k, q - math.Floor(q)}
	}
	sort.SliceStable(rems, func(a, b int) bool { return rems[a].r > rems[b].r })
	for i := 0; given < rest; i++ {
		out[rems[i%len(rems)].k]++
		given++
	}
	return out
}

// fileOf returns the file whose range holds generated record i.
func (g *generator) fileOf(i int) int {
	return sort.Search(len(g.firsts), func(k int) bool { return g.firsts[k] > i }) - 1
}

// eventTime draws when an event delivered at nominal happened: mostly
// within the file's delivery slot and a minute or two before, sometimes tens
// of minutes, rarely hours; never before the delivery range.
func (g *generator) eventTime(r *rand.Rand, nominal time.Time) time.Time {
	var lag time.Duration
	switch u := r.Float64(); {
	case u < 0.97:
		lag = time.Duration(r.Float64()*float64(g.slot)) + time.Duration(r.ExpFloat64()*float64(90*time.Second))
	case u < 0.995:
		lag = 10*time.Minute + time.Duration(r.Float64()*float64(50*time.Minute))
	default:
		lag = time.Hour + time.Duration(r.Float64()*float64(5*time.Hour))
	}
	t := nominal.Add(-lag - time.Second)
	if t.Before(g.rStart) {
		t = g.rStart.Add(time.Duration(r.Float64() * float64(nominal.Sub(g.rStart))))
	}
	return t.Truncate(time.Second)
}

func publicIP(r *rand.Rand) string {
	for {
		a := 1 + r.IntN(223)
		switch a {
		case 10, 100, 127, 169, 172, 192, 198, 203:
			continue
		}
		return fmt.Sprintf("%d.%d.%d.%d", a, r.IntN(256), r.IntN(256), 1+r.IntN(254))
	}
}

func absDur(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// run builds and writes every object.
func (g *generator) run(ctx context.Context, w Sink) error {
	eg, ectx := errgroup.WithContext(ctx)
	var next atomic.Int64
	for range g.opts.Parallelism {
		eg.Go(func() error {
			wk := newWorker()
			for {
				k := int(next.Add(1) - 1)
				if k >= len(g.files) {
					return nil
				}
				if err := ectx.Err(); err != nil {
					return err
				}
				if err := g.buildFile(wk, k, w); err != nil {
					return err
				}
			}
		})
	}
	if err := eg.Wait(); err != nil {
		return err
	}
	return g.finish(ctx, w)
}

// worker holds one goroutine's buffers.
type worker struct {
	pcg   rand.PCG
	r     *rand.Rand
	buf   []byte
	gz    bytes.Buffer
	zw    *gzip.Writer
	maps  []mapping
	order []entry
}

type mapping struct {
	kind     holeKind
	orig     string
	off, end int // the replacement, in worker.buf
}

type entryKind uint8

const (
	eGen entryKind = iota
	eDup
	eVerbatim
	eBad
)

type entry struct {
	kind entryKind
	i    int
}

func newWorker() *worker {
	wk := &worker{}
	wk.r = rand.New(&wk.pcg)
	wk.zw, _ = gzip.NewWriterLevel(&wk.gz, gzipLevel)
	return wk
}

func (wk *worker) compress(data []byte) ([]byte, error) {
	wk.gz.Reset()
	wk.zw.Reset(&wk.gz)
	if _, err := wk.zw.Write(data); err != nil {
		return nil, err
	}
	if err := wk.zw.Close(); err != nil {
		return nil, err
	}
	return wk.gz.Bytes(), nil
}

func (g *generator) buildFile(wk *worker, k int, w Sink) error {
	f := &g.files[k]
	res := &g.results[k]
	wk.order = wk.order[:0]
	for i := f.first; i < f.first+f.n; i++ {
		wk.order = append(wk.order, entry{eGen, i})
	}
	for _, i := range f.dups {
		wk.order = append(wk.order, entry{eDup, i})
	}
	for v := range f.verbatim {
		wk.order = append(wk.order, entry{eVerbatim, v})
	}
	if f.edge {
		for b := range badRecords {
			wk.order = append(wk.order, entry{eBad, b})
		}
	}
	fr := newRand(g.opts.Seed, domFile, uint64(k))
	fr.Shuffle(len(wk.order), func(a, b int) { wk.order[a], wk.order[b] = wk.order[b], wk.order[a] })

	s := &g.streams[f.stream]
	wk.buf = append(wk.buf[:0], `{"Records":[`...)
	for pos, e := range wk.order {
		if pos > 0 {
			wk.buf = append(wk.buf, ',')
		}
		var t time.Time
		switch e.kind {
		case eGen, eDup:
			t = g.writeRecord(wk, e.i)
			if e.kind == eDup {
				res.duplicates++
				if g.day.Contains(t) {
					res.inWindowDups++
				}
			}
		case eVerbatim:
			p := f.verbatim[e.i]
			rec := &g.lib.verbatim[p.v]
			wk.buf = append(wk.buf, rec.pre...)
			wk.buf = appendEventTime(wk.buf, p.t)
			wk.buf = append(wk.buf, rec.post...)
			t = p.t
		case eBad:
			b := badRecords[e.i]
			wk.buf = b.write(wk.buf, g, s, fr)
			res.records++
			res.problems = append(res.problems, problem.Problem{
				Object: f.key, Record: pos, Offset: -1, Kind: b.kind, Detail: b.detail,
			})
			continue
		}
		res.records++
		if g.day.Contains(t) {
			res.inWindow++
			if f.delivered.After(g.day.End) {
				res.lateInWindow++
			}
		} else {
			res.outWindow++
		}
		if res.oldest.IsZero() || t.Before(res.oldest) {
			res.oldest = t
		}
		if t.After(res.newest) {
			res.newest = t
		}
	}
	wk.buf = append(wk.buf, "]}"...)
	res.jsonBytes = int64(len(wk.buf))
	if !g.opts.NoSiblings {
		res.hash = sha256.Sum256(wk.buf) // for the digest files
	}
	gz, err := wk.compress(wk.buf)
	if err != nil {
		return err
	}
	res.gzipBytes = int64(len(gz))
	if err := w.Put(f.key, gz); err != nil {
		return fmt.Errorf("sample: put %s: %w", f.key, err)
	}
	return nil
}

// writeRecord appends generated record i (the same bytes in every file that
// carries it) and returns its eventTime.
func (g *generator) writeRecord(wk *worker, i int) time.Time {
	k := g.fileOf(i)
	f := &g.files[k]
	s := &g.streams[f.stream]
	seedPCG(&wk.pcg, g.opts.Seed, domRecord, uint64(i))
	r := wk.r
	t := g.lib.templates[s.pick(r.Float64())]
	ev := g.eventTime(r, f.nominal)
	wk.buf = g.fill(wk, t, s, ev)
	return ev
}

// fill appends template t with its holes filled for stream s and eventTime
// ev, drawing from wk.r.
func (g *generator) fill(wk *worker, t *template, s *stream, ev time.Time) []byte {
	r := wk.r
	b := wk.buf
	wk.maps = wk.maps[:0]
	for h := range t.holes {
		b = append(b, t.lits[h]...)
		hl := &t.holes[h]
		switch hl.kind {
		case hEventTime:
			b = appendEventTime(b, ev)
			continue
		case hEventID:
			b = appendUUID(b, r, false)
			continue
		case hAccount:
			b = append(b, s.account...)
			continue
		case hRegion:
			b = append(b, s.region...)
			continue
		case hTime:
			nt := ev.Add(hl.at.Sub(t.eventTime))
			b = appendRFC3339(b, nt, hl.frac)
			continue
		}
		found := false
		for _, m := range wk.maps {
			if m.kind == hl.kind && m.orig == hl.orig {
				b = append(b, b[m.off:m.end]...)
				found = true
				break
			}
		}
		if found {
			continue
		}
		off := len(b)
		switch hl.kind {
		case hUUID:
			b = appendUUID(b, r, hl.upper)
		case hReshape:
			b = appendReshaped(b, r, hl.orig)
		case hAccessKey:
			pool := s.asia
			if hl.orig[:4] == "AKIA" {
				pool = s.akia
			}
			u := r.Float64()
			b = append(b, pool[int(u*u*float64(len(pool)))]...)
		case hIP:
			u := r.Float64()
			b = append(b, s.ips[int(u*u*u*float64(len(s.ips)))]...)
		}
		wk.maps = append(wk.maps, mapping{kind: hl.kind, orig: hl.orig, off: off, end: len(b)})
	}
	return append(b, t.lits[len(t.holes)]...)
}

const hexDigits = "0123456789abcdef"
const hexUpper = "0123456789ABCDEF"

// appendUUID appends a random version 4 UUID.
func appendUUID(b []byte, r *rand.Rand, upper bool) []byte {
	digits := hexDigits
	if upper {
		digits = hexUpper
	}
	var u [16]byte
	x, y := r.Uint64(), r.Uint64()
	for i := 0; i < 8; i++ {
		u[i] = byte(x >> (8 * i))
		u[8+i] = byte(y >> (8 * i))
	}
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	for i, c := range u {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			b = append(b, '-')
		}
		b = append(b, digits[c>>4], digits[c&15])
	}
	return b
}

// appendReshaped appends random characters of the classes of orig's
// (digit, upper, lower; anything else kept).
func appendReshaped(b []byte, r *rand.Rand, orig string) []byte {
	for i := 0; i < len(orig); i++ {
		c := orig[i]
		switch {
		case isDigit(c):
			c = '0' + byte(r.IntN(10))
		case c >= 'A' && c <= 'Z':
			c = 'A' + byte(r.IntN(26))
		case c >= 'a' && c <= 'z':
			c = 'a' + byte(r.IntN(26))
		}
		b = append(b, c)
	}
	return b
}

// appendEventTime appends t as CloudTrail writes eventTime:
// "2006-01-02T15:04:05Z".
func appendEventTime(b []byte, t time.Time) []byte {
	return t.UTC().AppendFormat(b, "2006-01-02T15:04:05Z")
}

func appendRFC3339(b []byte, t time.Time, frac int) []byte {
	t = t.UTC()
	b = t.AppendFormat(b, "2006-01-02T15:04:05")
	if frac > 0 {
		ns := fmt.Sprintf("%09d", t.Nanosecond())
		for len(ns) < frac {
			ns += "0"
		}
		b = append(b, '.')
		b = append(b, ns[:frac]...)
	}
	return append(b, 'Z')
}

func hexString(b []byte) string { return hex.EncodeToString(b) }
