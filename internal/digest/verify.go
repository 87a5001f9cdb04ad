package digest

import (
	"cmp"
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/klauspost/compress/gzip"
	"golang.org/x/sync/errgroup"

	"github.com/parquetrail/parquetrail/internal/problem"
	"github.com/parquetrail/parquetrail/internal/store"
	"github.com/parquetrail/parquetrail/internal/trail"
	"github.com/parquetrail/parquetrail/internal/window"
)

// Outcome is what verification says of one log file.
type Outcome string

// Outcomes of a log file.
const (
	// Verified: listed by a digest whose signature and chain link hold, and
	// its uncompressed content hashes to the listed SHA-256.
	Verified Outcome = "verified"
	// NotCovered: in no digest, but delivered after the newest digest of its
	// region had closed (less the delivery slack): its digest is not
	// delivered yet. A later run can verify it.
	NotCovered Outcome = "not-yet-covered"
	// HashMismatch: listed, but its content is not what CloudTrail delivered
	// (edited, replaced, or no longer decompresses).
	HashMismatch Outcome = "hash-mismatch"
	// Missing: listed by a valid digest, of the day's selection by its
	// delivery time, but absent from the source (deleted).
	Missing Outcome = "missing"
	// Unlisted: present, delivered in an hour that a delivered digest covers,
	// but in no digest (added, or delivered while validation was off).
	Unlisted Outcome = "unlisted"
	// DigestInvalid: listed only by a digest that failed verification, so its
	// listed hash proves nothing.
	DigestInvalid Outcome = "digest-invalid"
)

// Failure is what is wrong with a digest file.
type Failure string

// Digest-level failures.
const (
	BadSignature Failure = "bad-signature" // no signature, or it does not verify
	UnknownKey   Failure = "unknown-key"   // no public key has the digest's fingerprint
	BrokenChain  Failure = "broken-chain"  // the previous digest is gone, or differs from what this one signed
	Malformed    Failure = "malformed"     // not a gzip'd digest JSON as documented
	Moved        Failure = "moved"         // digestS3Bucket/digestS3Object name another place
)

// File is one log file's outcome.
type File struct {
	Key     string  `json:"key"`
	Outcome Outcome `json:"outcome"`
	// Digest is the key of the digest that lists the file, if any.
	Digest string `json:"digest,omitempty"`
	Detail string `json:"detail,omitempty"`
}

// DigestProblem is a digest that failed verification.
type DigestProblem struct {
	Key     string  `json:"key"`
	Failure Failure `json:"failure"`
	Detail  string  `json:"detail"`
}

// Range is the digests read of one chain (account, region, trail).
type Range struct {
	Chain       string    `json:"chain"`
	FirstDigest string    `json:"firstDigest"`
	LastDigest  string    `json:"lastDigest"`
	Start       time.Time `json:"start"` // digestStartTime of the first
	End         time.Time `json:"end"`   // digestEndTime of the last
	Digests     int       `json:"digests"`
	// Restarts counts digests without a previous digest after the first:
	// validation or logging was off in between.
	Restarts int `json:"restarts,omitempty"`
	// Intact: every digest of the range verified and linked to its
	// predecessor (the first one to the digest before the range too).
	Intact bool `json:"intact"`
}

// Counts are the outcomes of the files, and the digests read and failed.
type Counts struct {
	Verified       int64 `json:"verified"`
	NotCovered     int64 `json:"notYetCovered"`
	Mismatch       int64 `json:"hashMismatch"`
	Missing        int64 `json:"missing"`
	Unlisted       int64 `json:"unlisted"`
	DigestInvalid  int64 `json:"digestInvalid"`
	Digests        int64 `json:"digests"`
	DigestFailures int64 `json:"digestFailures"`
}

// Report is the outcome of a verification.
type Report struct {
	Counts  Counts          `json:"counts"`
	Ranges  []Range         `json:"ranges"`
	Digests []DigestProblem `json:"digestProblems,omitempty"`
	// Files holds every file examined, in key order; Brief keeps only those
	// not verified.
	Files []File `json:"files,omitempty"`
}

// Tampered reports whether anything suggests the trail was altered: a file
// mismatched, missing, unlisted or vouched for only by a bad digest, or a
// digest that failed. Files not yet covered are not evidence of anything.
func (r *Report) Tampered() bool {
	c := r.Counts
	return c.Mismatch+c.Missing+c.Unlisted+c.DigestInvalid+c.DigestFailures > 0
}

// Brief is the report without its verified files, small enough for a plan.
func (r *Report) Brief() *Report {
	b := *r
	b.Files = nil
	for _, f := range r.Files {
		if f.Outcome != Verified {
			b.Files = append(b.Files, f)
		}
	}
	return &b
}

// Problem kinds in the run's error manifest.
const (
	KindFile   = "integrity-"        // + the file's Outcome
	KindDigest = "integrity-digest-" // + the digest's Failure
)

// Problems names every file not verified and every digest that failed, for
// the run's error manifest.
func (r *Report) Problems() []problem.Problem {
	var out []problem.Problem
	for _, d := range r.Digests {
		out = append(out, problem.Problem{Object: d.Key, Record: -1, Offset: -1, Kind: KindDigest + string(d.Failure), Detail: d.Detail})
	}
	for _, f := range r.Files {
		if f.Outcome == Verified {
			continue
		}
		detail := f.Detail
		if f.Digest != "" {
			detail = strings.TrimPrefix(detail+"; digest "+f.Digest, "; ")
		}
		out = append(out, problem.Problem{Object: f.Key, Record: -1, Offset: -1, Kind: KindFile + string(f.Outcome), Detail: detail})
	}
	return out
}

// Defaults of Options.
const (
	// DefaultSlack: a file delivered this close before a digest's end may
	// be listed by the next digest (S3 writes it after the digest closes).
	DefaultSlack = 15 * time.Minute
	// digestReach: how long after the last selected delivery the digest
	// listing it may end (hourly digests, plus delivery delay).
	digestReach = 2 * time.Hour
	// maxDigestBytes bounds a digest read into memory.
	maxDigestBytes = 256 << 20
)

// Options say what to verify.
type Options struct {
	// Source holds the trail; AWSLogs/ is directly below its root.
	Source store.Store
	// Day and LateArrival are the plan's: a file listed by a digest that the
	// plan would have selected, but that the source lacks, is Missing.
	Day         window.Day
	LateArrival time.Duration
	// Objects are the selected event-log files.
	Objects []store.Object
	// Keys supplies CloudTrail's public keys.
	Keys KeyProvider
	// Regions restricts the digest regions read, as the plan's; empty =
	// every region with digests under an account that has selected files.
	Regions []string
	// Concurrency bounds reads in flight; 0 = GOMAXPROCS.
	Concurrency int
	// Slack: 0 = DefaultSlack.
	Slack time.Duration
}

// loaded is one digest read from the source.
type loaded struct {
	key    string
	name   Key
	d      *Digest        // nil when malformed
	sha256 string         // hex, of the uncompressed file
	sig    string         // hex, from the metadata or sidecar
	fail   *DigestProblem // of the digest itself: it vouches for nothing
	// broken is a failed link to the previous digest. The digest itself is
	// authentic (its signature holds), so its files can still be verified;
	// the break says a digest before it was deleted or replaced.
	broken *DigestProblem
	root   string // the bucket key prefix above AWSLogs/ ("" or ending in "/")
}

func (l *loaded) valid() bool { return l.d != nil && l.fail == nil }

// verifier holds one verification's state.
type verifier struct {
	o      Options
	bucket string // of an S3 source; "" for a local folder
	prefix string // the S3 source's key prefix

	keysMu sync.Mutex
	keys   map[string]map[string]PublicKey // region -> fingerprint -> key
}

// Verify checks every selected log file against the digest chain. Integrity
// findings are in the report; an error means the source or the key
// provider could not be read (a retry may help) or the options are wrong.
func Verify(ctx context.Context, o Options) (*Report, error) {
	if o.Source == nil || o.Keys == nil {
		return nil, errors.New("digest: a source and a public-key provider are required")
	}
	if o.Day.Zone == nil {
		return nil, errors.New("digest: no day window")
	}
	if o.Concurrency <= 0 {
		o.Concurrency = runtime.GOMAXPROCS(0)
	}
	if o.Slack == 0 {
		o.Slack = DefaultSlack
	}
	v := &verifier{o: o, keys: map[string]map[string]PublicKey{}}
	if u, ok := strings.CutPrefix(o.Source.URL(), "s3://"); ok {
		v.bucket, v.prefix, _ = strings.Cut(u, "/")
		if v.prefix != "" {
			v.prefix += "/"
		}
	}
	keys, err := v.listDigests(ctx)
	if err != nil {
		return nil, err
	}
	digests := make([]*loaded, len(keys))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(o.Concurrency)
	for i, k := range keys {
		g.Go(func() (err error) {
			digests[i], err = v.load(gctx, k, true)
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	rep := &Report{}
	if err := v.chain(ctx, digests, rep); err != nil {
		return nil, err
	}
	if err := v.files(ctx, digests, rep); err != nil {
		return nil, err
	}
	rep.Counts.Digests = int64(len(digests))
	for _, d := range digests {
		for _, p := range []*DigestProblem{d.fail, d.broken} {
			if p != nil {
				rep.Digests = append(rep.Digests, *p)
			}
		}
	}
	slices.SortFunc(rep.Digests, func(a, b DigestProblem) int {
		return cmp.Or(strings.Compare(a.Key, b.Key), strings.Compare(string(a.Failure), string(b.Failure)))
	})
	rep.Counts.DigestFailures = int64(len(rep.Digests))
	return rep, nil
}

// listDigests lists the digest files of the accounts that have selected
// files, in the UTC date folders from the window's start to its end plus
// the late-arrival margin plus the reach of the last hour's digest.
func (v *verifier) listDigests(ctx context.Context) ([]string, error) {
	regions := map[string]map[string]bool{} // account prefix -> regions
	for _, o := range v.o.Objects {
		k, ok := trail.ParseKey(o.Key)
		if !ok {
			continue
		}
		ap := trail.AccountPrefix(k.Prefix, k.OrgID, k.Account)
		if regions[ap] == nil {
			regions[ap] = map[string]bool{}
		}
		if v.wantRegion(k.Region) {
			regions[ap][k.Region] = true
		}
	}
	// Regions whose files are all gone still have digests.
	for ap, rs := range regions {
		dirs, err := v.o.Source.ListDirs(ctx, RegionsPrefix(ap))
		if err != nil {
			return nil, fmt.Errorf("digest: %w", err)
		}
		for _, d := range dirs {
			r := strings.TrimSuffix(strings.TrimPrefix(d, RegionsPrefix(ap)), "/")
			if trail.IsRegion(r) && v.wantRegion(r) {
				rs[r] = true
			}
		}
	}
	var prefixes []string
	for ap, rs := range regions {
		for r := range rs {
			for _, day := range v.o.Day.Folders(v.o.LateArrival + digestReach) {
				prefixes = append(prefixes, DatePrefix(ap, r, day))
			}
		}
	}
	slices.Sort(prefixes)
	var (
		mu   sync.Mutex
		keys []string
	)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(v.o.Concurrency)
	for _, p := range prefixes {
		g.Go(func() error {
			return v.o.Source.List(gctx, p, func(obj store.Object) error {
				if _, ok := ParseKey(obj.Key); ok {
					mu.Lock()
					keys = append(keys, obj.Key)
					mu.Unlock()
				}
				return nil
			})
		})
	}
	if err := g.Wait(); err != nil {
		return nil, fmt.Errorf("digest: %w", err)
	}
	slices.Sort(keys)
	return keys, nil
}

func (v *verifier) wantRegion(r string) bool {
	return len(v.o.Regions) == 0 || slices.Contains(v.o.Regions, r)
}

// load reads a digest and, when check is set, verifies where it claims to
// be and its signature. A store error is returned; what is wrong with the
// digest itself is in fail.
func (v *verifier) load(ctx context.Context, key string, check bool) (*loaded, error) {
	name, _ := ParseKey(key)
	l := &loaded{key: key, name: name}
	raw, err := v.readGzip(ctx, key)
	if err != nil {
		var fe formatError
		if errors.As(err, &fe) {
			l.fail = &DigestProblem{Key: key, Failure: Malformed, Detail: fe.Error()}
			return l, nil
		}
		return nil, err
	}
	sum := sha256.Sum256(raw)
	l.sha256 = hex.EncodeToString(sum[:])
	if l.sig, err = v.signature(ctx, key); err != nil {
		var fe formatError
		if !errors.As(err, &fe) {
			return nil, err
		}
		l.fail = &DigestProblem{Key: key, Failure: BadSignature, Detail: fe.Error()}
	}
	d, err := Parse(raw)
	if err != nil {
		l.fail = &DigestProblem{Key: key, Failure: Malformed, Detail: err.Error()}
		return l, nil
	}
	l.d = d
	l.root = strings.TrimSuffix(d.S3Object, key)
	if !check || l.fail != nil {
		return l, nil
	}
	if !v.sameObject(d.S3Bucket, d.S3Object, key) {
		l.fail = &DigestProblem{Key: key, Failure: Moved, Detail: fmt.Sprintf("the digest says it is s3://%s/%s", d.S3Bucket, d.S3Object)}
		return l, nil
	}
	keys, err := v.publicKeys(ctx, name.Region)
	if err != nil {
		return nil, err
	}
	pk, ok := keys[strings.ToLower(d.PublicKeyFingerprint)]
	if !ok {
		l.fail = &DigestProblem{Key: key, Failure: UnknownKey,
			Detail: fmt.Sprintf("no public key of %s has fingerprint %s", name.Region, d.PublicKeyFingerprint)}
		return l, nil
	}
	sig, err := hex.DecodeString(l.sig)
	if err != nil {
		l.fail = &DigestProblem{Key: key, Failure: BadSignature, Detail: "the signature is not hex"}
		return l, nil
	}
	h := sha256.Sum256([]byte(SigningString(d, l.sha256)))
	if err := rsa.VerifyPKCS1v15(pk.Key, crypto.SHA256, h[:], sig); err != nil {
		l.fail = &DigestProblem{Key: key, Failure: BadSignature,
			Detail: fmt.Sprintf("the signature does not verify with key %s", pk.Fingerprint)}
	}
	return l, nil
}

// sameObject reports whether a digest's own bucket and key name the object
// it was read from. A local folder has no bucket: the key must end the
// digest's key at a path boundary.
func (v *verifier) sameObject(bucket, object, key string) bool {
	if v.bucket != "" {
		return bucket == v.bucket && object == v.prefix+key
	}
	return object == key || strings.HasSuffix(object, "/"+key)
}

// formatError is bad content, as opposed to a failed read.
type formatError struct{ error }

// SignatureSuffix is appended to a digest's key to name the sidecar file
// that holds its signature in a local folder, which keeps no metadata.
const SignatureSuffix = ".signature"

// signature returns the digest's hex signature: the object's metadata in
// S3, the sidecar file in a local folder.
func (v *verifier) signature(ctx context.Context, key string) (string, error) {
	if mr, ok := v.o.Source.(store.MetadataReader); ok {
		md, err := mr.Metadata(ctx, key)
		if err != nil {
			return "", fmt.Errorf("digest: %w", err)
		}
		if alg, ok := md["signature-algorithm"]; ok && alg != SignatureAlgorithm {
			return "", formatError{fmt.Errorf("x-amz-meta-signature-algorithm %q is not %s", alg, SignatureAlgorithm)}
		}
		sig, ok := md["signature"]
		if !ok {
			return "", formatError{errors.New("the object has no x-amz-meta-signature")}
		}
		return strings.ToLower(sig), nil
	}
	r, err := v.o.Source.Open(ctx, key+SignatureSuffix)
	if err != nil {
		if store.IsNotExist(err) {
			return "", formatError{fmt.Errorf("no signature: a local folder keeps no S3 metadata, and %s%s is absent", key, SignatureSuffix)}
		}
		return "", fmt.Errorf("digest: %w", err)
	}
	defer r.Close()
	b, err := io.ReadAll(io.LimitReader(r, 64<<10))
	if err != nil {
		return "", fmt.Errorf("digest: reading %s%s: %w", key, SignatureSuffix, err)
	}
	return parseSidecar(b)
}

// parseSidecar accepts the hex signature alone, or what
// `aws s3api head-object` prints for the digest ({"Metadata": {...}}).
func parseSidecar(b []byte) (string, error) {
	s := strings.TrimSpace(string(b))
	if strings.HasPrefix(s, "{") {
		var head struct {
			Metadata map[string]string `json:"Metadata"`
		}
		if err := json.Unmarshal([]byte(s), &head); err != nil {
			return "", formatError{fmt.Errorf("signature sidecar: %w", err)}
		}
		if alg, ok := head.Metadata["signature-algorithm"]; ok && alg != SignatureAlgorithm {
			return "", formatError{fmt.Errorf("signature sidecar: algorithm %q is not %s", alg, SignatureAlgorithm)}
		}
		s = head.Metadata["signature"]
	}
	if s == "" {
		return "", formatError{errors.New("signature sidecar holds no signature")}
	}
	return strings.ToLower(s), nil
}

// publicKeys returns a region's keys by fingerprint, asking the provider
// once per region for the whole span the digests may cover.
func (v *verifier) publicKeys(ctx context.Context, region string) (map[string]PublicKey, error) {
	v.keysMu.Lock()
	defer v.keysMu.Unlock()
	if m, ok := v.keys[region]; ok {
		return m, nil
	}
	start := v.o.Day.Start.Add(-digestReach)
	end := v.o.Day.End.Add(v.o.LateArrival + 2*digestReach)
	list, err := v.o.Keys.PublicKeys(ctx, region, start, end)
	if err != nil {
		return nil, fmt.Errorf("digest: %w", err)
	}
	m := map[string]PublicKey{}
	for _, k := range list {
		m[strings.ToLower(k.Fingerprint)] = k
	}
	v.keys[region] = m
	return m, nil
}

// readGzip reads and decompresses a whole object. A failure of the store
// is returned as is; one of the content as a formatError.
func (v *verifier) readGzip(ctx context.Context, key string) ([]byte, error) {
	r, err := v.o.Source.Open(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("digest: %w", err)
	}
	defer r.Close()
	src := &readErr{r: r}
	zr, err := gzip.NewReader(src)
	if err != nil {
		if src.err != nil {
			return nil, fmt.Errorf("digest: reading %s: %w", key, src.err)
		}
		return nil, formatError{fmt.Errorf("not gzip: %w", err)}
	}
	b, err := io.ReadAll(io.LimitReader(zr, maxDigestBytes+1))
	switch {
	case src.err != nil:
		return nil, fmt.Errorf("digest: reading %s: %w", key, src.err)
	case err != nil:
		return nil, formatError{fmt.Errorf("gzip: %w", err)}
	case len(b) > maxDigestBytes:
		return nil, formatError{fmt.Errorf("larger than %d bytes uncompressed", maxDigestBytes)}
	}
	return b, nil
}

// readErr remembers the error of the reader under a decompressor, to tell
// a failed read (retry) from bad content (tampering).
type readErr struct {
	r   io.Reader
	err error
}

func (r *readErr) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if err != nil && err != io.EOF && r.err == nil {
		r.err = err
	}
	return n, err
}

// chain checks each chain's links and records its range.
func (v *verifier) chain(ctx context.Context, digests []*loaded, rep *Report) error {
	chains := map[string][]*loaded{}
	for _, d := range digests {
		chains[d.name.Chain()] = append(chains[d.name.Chain()], d)
	}
	names := make([]string, 0, len(chains))
	for n := range chains {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		ds := chains[n]
		slices.SortFunc(ds, func(a, b *loaded) int { return a.name.End.Compare(b.name.End) })
		rg := Range{Chain: n, FirstDigest: ds[0].key, LastDigest: ds[len(ds)-1].key, Digests: len(ds), Intact: true}
		for i, cur := range ds {
			if cur.d == nil {
				rg.Intact = false
				continue
			}
			if i == 0 {
				rg.Start = cur.d.Start
			}
			rg.End = cur.d.End
			if !cur.d.HasPrevious() {
				if i > 0 {
					rg.Restarts++
				}
				continue
			}
			var prev *loaded
			if i > 0 && ds[i-1].d != nil && ds[i-1].d.S3Object == *cur.d.PreviousS3Object {
				prev = ds[i-1]
			}
			if err := v.link(ctx, cur, prev); err != nil {
				return err
			}
		}
		for _, d := range ds {
			if d.fail != nil || d.broken != nil {
				rg.Intact = false
			}
		}
		rep.Ranges = append(rep.Ranges, rg)
	}
	return nil
}

// link checks that cur's previous digest is in the source and is what cur
// signed: its signature and the SHA-256 of its content. prev is that digest
// when it was read already; otherwise (the digest before the day's first,
// or one that is not where the chain says) it is read now. Since cur's
// signature covers the previous signature, a holding link vouches for the
// previous digest too.
func (v *verifier) link(ctx context.Context, cur, prev *loaded) error {
	if cur.fail != nil {
		return nil // its own failure says more
	}
	d := cur.d
	if prev == nil {
		pkey, ok := strings.CutPrefix(*d.PreviousS3Object, cur.root)
		if !ok || !v.sameObject(*d.PreviousS3Bucket, *d.PreviousS3Object, pkey) {
			cur.broken = &DigestProblem{Key: cur.key, Failure: BrokenChain,
				Detail: fmt.Sprintf("the previous digest s3://%s/%s is outside the source", *d.PreviousS3Bucket, *d.PreviousS3Object)}
			return nil
		}
		p, err := v.load(ctx, pkey, false)
		if err != nil {
			if store.IsNotExist(err) {
				cur.broken = &DigestProblem{Key: cur.key, Failure: BrokenChain,
					Detail: fmt.Sprintf("the previous digest %s is not in the source", pkey)}
				return nil
			}
			return err
		}
		prev = p
	}
	switch {
	case prev.sig == "" || !strings.EqualFold(prev.sig, *d.PreviousSignature):
		cur.broken = &DigestProblem{Key: cur.key, Failure: BrokenChain,
			Detail: fmt.Sprintf("the signature of the previous digest %s is not the previousDigestSignature this digest signed", prev.key)}
	case !strings.EqualFold(prev.sha256, *d.PreviousHashValue):
		cur.broken = &DigestProblem{Key: cur.key, Failure: BrokenChain,
			Detail: fmt.Sprintf("the previous digest %s hashes to %s, not the previousDigestHashValue %s", prev.key, prev.sha256, *d.PreviousHashValue)}
	}
	return nil
}

// listing is where a digest lists a log file.
type listing struct {
	digest *loaded
	hash   string
}

// files gives every selected file, and every file a valid digest lists that
// the plan would have selected, its outcome.
func (v *verifier) files(ctx context.Context, digests []*loaded, rep *Report) error {
	listed := map[string]listing{}
	covered := map[string]time.Time{} // account prefix + region -> newest digest end
	for _, d := range digests {
		if d.d == nil {
			continue
		}
		cov := d.name.AccountPrefix + d.name.Region
		if d.d.End.After(covered[cov]) {
			covered[cov] = d.d.End
		}
		for _, f := range d.d.LogFiles {
			key, ok := strings.CutPrefix(f.S3Object, d.root)
			if !ok || (f.S3Bucket != "" && f.S3Bucket != d.d.S3Bucket) {
				continue // not in this source
			}
			// A valid digest's word beats an invalid one's.
			if old, ok := listed[key]; ok && old.digest.valid() {
				continue
			}
			listed[key] = listing{digest: d, hash: strings.ToLower(f.HashValue)}
		}
	}
	present := make(map[string]bool, len(v.o.Objects))
	out := make([]File, len(v.o.Objects))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(v.o.Concurrency)
	for i, obj := range v.o.Objects {
		present[obj.Key] = true
		l, ok := listed[obj.Key]
		switch {
		case !ok:
			out[i] = v.unlisted(obj, covered)
		case !l.digest.valid():
			detail := "the digest that lists it failed"
			if l.digest.fail != nil {
				detail = "the digest that lists it failed: " + string(l.digest.fail.Failure)
			}
			out[i] = File{Key: obj.Key, Outcome: DigestInvalid, Digest: l.digest.key, Detail: detail}
		default:
			g.Go(func() error {
				got, err := v.hashLog(gctx, obj.Key)
				var fe formatError
				switch {
				case errors.As(err, &fe):
					out[i] = File{Key: obj.Key, Outcome: HashMismatch, Digest: l.digest.key, Detail: fe.Error()}
				case err != nil:
					return err
				case got != l.hash:
					out[i] = File{Key: obj.Key, Outcome: HashMismatch, Digest: l.digest.key,
						Detail: fmt.Sprintf("SHA-256 of the uncompressed content is %s, the digest lists %s", got, l.hash)}
				default:
					out[i] = File{Key: obj.Key, Outcome: Verified, Digest: l.digest.key}
				}
				return nil
			})
		}
	}
	if err := g.Wait(); err != nil {
		return err
	}
	for key, l := range listed {
		if present[key] || !l.digest.valid() {
			continue
		}
		k, ok := trail.ParseKey(key)
		if !ok || !v.wantRegion(k.Region) {
			continue
		}
		if sel, _ := v.o.Day.Selects(k.Delivered, v.o.LateArrival); sel {
			out = append(out, File{Key: key, Outcome: Missing, Digest: l.digest.key, Detail: "listed by a valid digest, absent from the source"})
		}
	}
	slices.SortFunc(out, func(a, b File) int { return strings.Compare(a.Key, b.Key) })
	rep.Files = out
	for _, f := range out {
		c := &rep.Counts
		switch f.Outcome {
		case Verified:
			c.Verified++
		case NotCovered:
			c.NotCovered++
		case HashMismatch:
			c.Mismatch++
		case Missing:
			c.Missing++
		case Unlisted:
			c.Unlisted++
		case DigestInvalid:
			c.DigestInvalid++
		}
	}
	return nil
}

// unlisted decides between Unlisted and NotCovered for a file no digest
// lists, by its delivery time (from its name) against the newest digest of
// its account and region.
func (v *verifier) unlisted(obj store.Object, covered map[string]time.Time) File {
	k, ok := trail.ParseKey(obj.Key)
	if !ok {
		return File{Key: obj.Key, Outcome: Unlisted, Detail: "not an event-log key"}
	}
	end, ok := covered[trail.AccountPrefix(k.Prefix, k.OrgID, k.Account)+k.Region]
	if !ok {
		return File{Key: obj.Key, Outcome: Unlisted, Detail: "its region has no digest in the day's range (is log file validation on?)"}
	}
	if k.Delivered.Before(end.Add(-v.o.Slack)) {
		return File{Key: obj.Key, Outcome: Unlisted,
			Detail: fmt.Sprintf("delivered %s, before the newest digest's end %s, but in no digest", k.Delivered.Format(time.RFC3339), end.Format(time.RFC3339))}
	}
	return File{Key: obj.Key, Outcome: NotCovered,
		Detail: fmt.Sprintf("delivered %s; the newest digest ends %s", k.Delivered.Format(time.RFC3339), end.Format(time.RFC3339))}
}

// hashLog returns the hex SHA-256 of a log file's uncompressed content (of
// its bytes, for a file not named .gz). Bad gzip is a formatError.
func (v *verifier) hashLog(ctx context.Context, key string) (string, error) {
	r, err := v.o.Source.Open(ctx, key)
	if err != nil {
		if store.IsNotExist(err) {
			return "", formatError{errors.New("vanished while being verified")}
		}
		return "", fmt.Errorf("digest: %w", err)
	}
	defer r.Close()
	h := sha256.New()
	if !strings.HasSuffix(key, ".gz") {
		if _, err := io.Copy(h, r); err != nil {
			return "", fmt.Errorf("digest: reading %s: %w", key, err)
		}
		return hex.EncodeToString(h.Sum(nil)), nil
	}
	return hashGzip(h, r, key)
}

func hashGzip(h hash.Hash, r io.Reader, key string) (string, error) {
	src := &readErr{r: r}
	zr, err := gzip.NewReader(src)
	if err == nil {
		_, err = io.Copy(h, zr)
	}
	switch {
	case src.err != nil:
		return "", fmt.Errorf("digest: reading %s: %w", key, src.err)
	case err != nil:
		return "", formatError{fmt.Errorf("does not decompress: %w", err)}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
