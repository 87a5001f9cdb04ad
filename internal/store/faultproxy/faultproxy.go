// Package faultproxy is an HTTP proxy for tests that sits between the AWS SDK
// and the loopback S3 server (internal/store/s3test) and injects the faults a
// real S3 connection has: throttling and server errors, connections reset or
// closed in the middle of a body, responses that stall, slow requests.
//
// Faults are chosen by rules (method, bucket, key pattern, a share or a count
// of the matching requests); rules can be replaced while requests are in
// flight, and every request and injected fault is counted so that a test can
// check the faults really happened. It also enforces If-Match on GET and
// HEAD, which the loopback server ignores.
package faultproxy

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Kind is what a rule does to a request.
type Kind int

const (
	// Status answers with Rule.Status and an S3 XML error body (Rule.Code,
	// by default SlowDown for 503 and InternalError for 500) without
	// forwarding the request.
	Status Kind = iota + 1
	// Reset forwards the request, sends the response headers and
	// Rule.AfterBytes bytes of the body, then resets the connection (TCP RST).
	Reset
	// ShortBody forwards the request, sends the headers (Content-Length
	// promising the whole body) and Rule.AfterBytes bytes, then closes the
	// connection cleanly: the client sees an unexpected EOF.
	ShortBody
	// Stall forwards the request and holds the response for Rule.Duration
	// before sending anything, or, with Duration 0, until the client gives up
	// (its request context ends) or the proxy closes.
	Stall
	// StallBody forwards the request, sends the headers and Rule.AfterBytes
	// bytes of the body, then holds the rest for Rule.Duration (0: until the
	// client gives up), then sends it.
	StallBody
	// Slow waits Rule.Duration before forwarding the request.
	Slow
)

var kindNames = map[Kind]string{
	Status: "status", Reset: "reset", ShortBody: "short-body",
	Stall: "stall", StallBody: "stall-body", Slow: "slow",
}

func (k Kind) String() string {
	if s, ok := kindNames[k]; ok {
		return s
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// Rule injects one kind of fault into the requests it matches.
type Rule struct {
	// Name identifies the rule in counters; "" = the kind's name.
	Name string
	// Method matches the HTTP method ("GET", "PUT", ...); "" = any.
	Method string
	// Bucket matches the bucket exactly; "" = any.
	Bucket string
	// Key is a regular expression matched against the object key (without
	// the bucket; "" for bucket-level requests such as a listing); "" = any.
	// Anchor it (^...$) to match a whole key.
	Key string
	// Query, if set, must be a query parameter present in the request
	// ("uploadId", "list-type", "partNumber").
	Query string

	// Skip lets the first Skip matching requests through untouched.
	Skip int
	// Share of the matching requests (after Skip) to inject into, spread
	// evenly and deterministically (0.25: the 4th, 8th, ...); 0 or 1 = all.
	Share float64
	// Count caps the injections; 0 = no cap.
	Count int

	Kind Kind
	// Status and Code of a Status fault.
	Status int
	Code   string
	// AfterBytes of the response body sent before a Reset, ShortBody or
	// StallBody fault.
	AfterBytes int64
	// Duration of a Stall, StallBody or Slow fault.
	Duration time.Duration
}

func (r Rule) name() string {
	if r.Name != "" {
		return r.Name
	}
	return r.Kind.String()
}

// Request is one request seen by the proxy.
type Request struct {
	Method string
	Bucket string
	Key    string
	Query  string // raw query
	Range  string // Range header
	// IfMatch is the If-Match header.
	IfMatch string
	// Fault is the name of the rule injected into it, or "".
	Fault string
}

// rule is a Rule with its compiled pattern and its counters.
type rule struct {
	Rule
	key      *regexp.Regexp
	matched  int
	injected int
}

// Proxy is a running fault-injecting proxy.
type Proxy struct {
	// URL is the proxy's endpoint ("http://127.0.0.1:port"); point the SDK
	// client at it.
	URL string

	upstream  *url.URL
	transport *http.Transport
	srv       *http.Server
	ln        net.Listener
	closing   chan struct{}
	closeOnce sync.Once

	mu       sync.Mutex
	rules    []*rule
	injected map[string]int
	log      []Request
}

// New starts a proxy on 127.0.0.1 that forwards to upstream (an http://
// endpoint, typically s3test's). Close stops it.
func New(upstream string) (*Proxy, error) {
	u, err := url.Parse(upstream)
	if err != nil || u.Scheme != "http" || u.Host == "" {
		return nil, fmt.Errorf("faultproxy: upstream %q: want http://host:port", upstream)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("faultproxy: %w", err)
	}
	p := &Proxy{
		URL:      "http://" + ln.Addr().String(),
		upstream: u,
		transport: &http.Transport{
			Proxy:               nil,
			MaxIdleConnsPerHost: 64,
			IdleConnTimeout:     30 * time.Second,
			// Bodies are forwarded byte for byte, as the server sent them.
			DisableCompression: true,
		},
		ln:       ln,
		closing:  make(chan struct{}),
		injected: map[string]int{},
	}
	p.srv = &http.Server{Handler: p, ReadHeaderTimeout: 10 * time.Second}
	go p.srv.Serve(ln) //nolint:errcheck // ends with ErrServerClosed on Close
	return p, nil
}

// Close stops the proxy: stalled responses end, open connections close.
func (p *Proxy) Close() error {
	p.closeOnce.Do(func() { close(p.closing) })
	err := p.srv.Close()
	p.transport.CloseIdleConnections()
	return err
}

// SetRules replaces the rules; requests already in flight keep the fault
// they were given. Rules are tried in order and the first that decides to
// inject wins. A rule's counters start again at zero; the totals by name
// (Injected) are kept.
func (p *Proxy) SetRules(rules ...Rule) error {
	compiled := make([]*rule, 0, len(rules))
	for i, r := range rules {
		c := &rule{Rule: r}
		if r.Key != "" {
			re, err := regexp.Compile(r.Key)
			if err != nil {
				return fmt.Errorf("faultproxy: rule %d (%s): key pattern: %w", i, r.name(), err)
			}
			c.key = re
		}
		if r.Kind < Status || r.Kind > Slow {
			return fmt.Errorf("faultproxy: rule %d (%s): unknown kind %d", i, r.name(), r.Kind)
		}
		if r.Kind == Status && r.Status == 0 {
			return fmt.Errorf("faultproxy: rule %d (%s): a status fault needs a status", i, r.name())
		}
		if r.Share < 0 || r.Share > 1 {
			return fmt.Errorf("faultproxy: rule %d (%s): share %v not in [0, 1]", i, r.name(), r.Share)
		}
		compiled = append(compiled, c)
	}
	p.mu.Lock()
	p.rules = compiled
	p.mu.Unlock()
	return nil
}

// Clear removes every rule: requests pass untouched from now on.
func (p *Proxy) Clear() { _ = p.SetRules() }

// Injected returns how many times the rule(s) of that name injected a fault,
// over the proxy's whole life.
func (p *Proxy) Injected(name string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.injected[name]
}

// InjectedAll returns the injections by rule name.
func (p *Proxy) InjectedAll() map[string]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	m := make(map[string]int, len(p.injected))
	for k, v := range p.injected {
		m[k] = v
	}
	return m
}

// Requests returns every request seen so far, in arrival order.
func (p *Proxy) Requests() []Request {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Request(nil), p.log...)
}

// Count returns how many requests with method ("" = any) on a key matching
// the regular expression key ("" = any) the proxy has seen.
func (p *Proxy) Count(method, key string) int {
	re := regexp.MustCompile(key)
	n := 0
	for _, r := range p.Requests() {
		if (method == "" || r.Method == method) && re.MatchString(r.Key) {
			n++
		}
	}
	return n
}

// ResetCounters forgets the request log and the injection totals (not the rules).
func (p *Proxy) ResetCounters() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.log = nil
	p.injected = map[string]int{}
	for _, r := range p.rules {
		r.matched, r.injected = 0, 0
	}
}

// splitPath takes bucket and key from a path-style request path.
func splitPath(path string) (bucket, key string) {
	path = strings.TrimPrefix(path, "/")
	bucket, key, _ = strings.Cut(path, "/")
	return bucket, key
}

// decide picks the fault for a request (nil: none) and logs the request.
func (p *Proxy) decide(req Request, q url.Values) *Rule {
	p.mu.Lock()
	defer p.mu.Unlock()
	var chosen *Rule
	for _, r := range p.rules {
		if r.Method != "" && r.Method != req.Method ||
			r.Bucket != "" && r.Bucket != req.Bucket ||
			r.key != nil && !r.key.MatchString(req.Key) ||
			r.Query != "" && !q.Has(r.Query) {
			continue
		}
		r.matched++
		n := r.matched - r.Skip // 1-based among the candidates
		if n <= 0 || r.Count > 0 && r.injected >= r.Count {
			continue
		}
		if r.Share > 0 && r.Share < 1 {
			// Inject when the running share crosses a whole number: an
			// even, reproducible spread.
			if int(float64(n)*r.Share) == int(float64(n-1)*r.Share) {
				continue
			}
		}
		r.injected++
		chosen = &r.Rule
		break
	}
	if chosen != nil {
		req.Fault = chosen.name()
		p.injected[req.Fault]++
	}
	p.log = append(p.log, req)
	if chosen == nil {
		return nil
	}
	c := *chosen
	return &c
}

func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	bucket, key := splitPath(r.URL.Path)
	q := r.URL.Query()
	fault := p.decide(Request{
		Method: r.Method, Bucket: bucket, Key: key, Query: r.URL.RawQuery,
		Range: r.Header.Get("Range"), IfMatch: r.Header.Get("If-Match"),
	}, q)

	if fault != nil {
		switch fault.Kind {
		case Status:
			p.writeError(w, r, fault, bucket, key)
			return
		case Slow:
			if !p.wait(r.Context(), fault.Duration) {
				abort()
			}
		}
	}

	resp, err := p.forward(r)
	if err != nil {
		if r.Context().Err() != nil {
			abort()
		}
		http.Error(w, "faultproxy: upstream: "+err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()

	if (r.Method == http.MethodGet || r.Method == http.MethodHead) && !ifMatch(r.Header.Get("If-Match"), resp) {
		// gofakes3 ignores If-Match on reads; S3 answers 412, and a
		// resumed download depends on it.
		p.writeError(w, r, &Rule{Status: http.StatusPreconditionFailed, Code: "PreconditionFailed"}, bucket, key)
		return
	}

	if fault == nil {
		p.copyResponse(w, resp, -1)
		return
	}
	switch fault.Kind {
	case Stall:
		if !p.wait(r.Context(), fault.Duration) {
			abort()
		}
		p.copyResponse(w, resp, -1)
	case StallBody:
		if !p.copyResponse(w, resp, fault.AfterBytes) {
			abort()
		}
		w.(http.Flusher).Flush()
		if !p.wait(r.Context(), fault.Duration) {
			abort()
		}
		_, _ = io.Copy(w, resp.Body)
	case Reset, ShortBody:
		p.cut(w, resp, fault)
	default:
		p.copyResponse(w, resp, -1)
	}
}

// abort ends the handler without completing the response: the server closes
// the connection instead of sending an empty 200.
func abort() { panic(http.ErrAbortHandler) }

// ifMatch reports whether a successful response satisfies the If-Match
// header cond ("" and "*" always do).
func ifMatch(cond string, resp *http.Response) bool {
	if cond == "" || cond == "*" || resp.StatusCode/100 != 2 {
		return true
	}
	etag := strings.Trim(resp.Header.Get("ETag"), `"`)
	for _, c := range strings.Split(cond, ",") {
		if strings.Trim(strings.TrimSpace(c), `"`) == etag {
			return true
		}
	}
	return false
}

// wait sleeps d (0: forever) unless the request ends or the proxy closes;
// it reports whether to go on.
func (p *Proxy) wait(ctx context.Context, d time.Duration) bool {
	var timer <-chan time.Time
	if d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		timer = t.C
	}
	select {
	case <-timer:
		return true
	case <-ctx.Done():
		return false
	case <-p.closing:
		return false
	}
}

func (p *Proxy) forward(r *http.Request) (*http.Response, error) {
	out := r.Clone(r.Context())
	out.RequestURI = ""
	out.URL.Scheme = p.upstream.Scheme
	out.URL.Host = p.upstream.Host
	// Keep the Host the client signed.
	out.Host = r.Host
	if r.ContentLength == 0 {
		out.Body = nil
	}
	for _, h := range []string{"Connection", "Proxy-Connection", "Keep-Alive", "Te", "Trailer", "Upgrade"} {
		out.Header.Del(h)
	}
	return p.transport.RoundTrip(out)
}

// copyResponse writes the response headers and the body, or only its first
// limit bytes (limit >= 0); it reports whether every write succeeded.
func (p *Proxy) copyResponse(w http.ResponseWriter, resp *http.Response, limit int64) bool {
	h := w.Header()
	for k, vs := range resp.Header {
		h[k] = append([]string(nil), vs...)
	}
	if resp.ContentLength >= 0 {
		h.Set("Content-Length", strconv.FormatInt(resp.ContentLength, 10))
	}
	w.WriteHeader(resp.StatusCode)
	var err error
	if limit >= 0 {
		_, err = io.CopyN(w, resp.Body, limit)
		if errors.Is(err, io.EOF) {
			err = nil
		}
	} else {
		_, err = io.Copy(w, resp.Body)
	}
	return err == nil
}

// cut sends the response's status, headers and the first AfterBytes bytes
// of its body on the raw connection, then resets or closes it.
func (p *Proxy) cut(w http.ResponseWriter, resp *http.Response, fault *Rule) {
	conn, buf, err := http.NewResponseController(w).Hijack()
	if err != nil {
		http.Error(w, "faultproxy: hijack: "+err.Error(), http.StatusInternalServerError)
		return
	}
	defer conn.Close()
	if fault.Kind == Reset {
		if tc, ok := conn.(*net.TCPConn); ok {
			// Closing with a zero linger sends RST instead of FIN.
			_ = tc.SetLinger(0)
		}
	}
	writeHead(buf.Writer, resp)
	_, _ = io.CopyN(buf, resp.Body, fault.AfterBytes)
	_ = buf.Flush()
}

func writeHead(w *bufio.Writer, resp *http.Response) {
	fmt.Fprintf(w, "HTTP/1.1 %d %s\r\n", resp.StatusCode, http.StatusText(resp.StatusCode))
	h := resp.Header.Clone()
	h.Del("Transfer-Encoding")
	h.Del("Connection")
	if resp.ContentLength >= 0 {
		h.Set("Content-Length", strconv.FormatInt(resp.ContentLength, 10))
	}
	h.Set("Connection", "close")
	_ = h.Write(w)
	_, _ = w.WriteString("\r\n")
}

// writeError answers like S3 does when it throttles or fails.
func (p *Proxy) writeError(w http.ResponseWriter, r *http.Request, fault *Rule, bucket, key string) {
	// Read the request body, so that the client is not cut off mid-upload
	// and sees the status.
	_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, 64<<20))
	code := fault.Code
	if code == "" {
		code = defaultCode(fault.Status)
	}
	resource := "/" + bucket
	if key != "" {
		resource += "/" + key
	}
	body := fmt.Sprintf(`<?xml version="1.0" encoding="UTF-8"?>`+"\n"+
		`<Error><Code>%s</Code><Message>%s</Message><Resource>%s</Resource><RequestId>faultproxy</RequestId></Error>`,
		xmlEscape(code), xmlEscape(message(code)), xmlEscape(resource))
	h := w.Header()
	h.Set("Content-Type", "application/xml")
	h.Set("x-amz-request-id", "faultproxy")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(fault.Status)
	if r.Method != http.MethodHead {
		_, _ = io.WriteString(w, body)
	}
}

func defaultCode(status int) string {
	switch status {
	case http.StatusServiceUnavailable:
		return "SlowDown"
	case http.StatusInternalServerError:
		return "InternalError"
	case http.StatusForbidden:
		return "AccessDenied"
	case http.StatusNotFound:
		return "NoSuchKey"
	case http.StatusPreconditionFailed:
		return "PreconditionFailed"
	default:
		return strings.ReplaceAll(http.StatusText(status), " ", "")
	}
}

func message(code string) string {
	switch code {
	case "SlowDown":
		return "Please reduce your request rate."
	case "InternalError":
		return "We encountered an internal error. Please try again."
	default:
		return "Injected by faultproxy."
	}
}

var xmlEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&apos;")

func xmlEscape(s string) string { return xmlEscaper.Replace(s) }
