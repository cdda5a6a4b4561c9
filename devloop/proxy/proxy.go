package proxy

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"path"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// StaleHeader is the response header set while a service's running build is
// older than its source (see [Proxy.SetStale]).
const StaleHeader = "X-Toil-Stale"

// Defaults for the zero fields of [Options].
const (
	// DefaultConnectTimeout bounds connecting to a backend.
	DefaultConnectTimeout = 5 * time.Second
	// DefaultIdleTimeout is how long an idle client keep-alive connection
	// stays open (nginx's keepalive_timeout).
	DefaultIdleTimeout = 75 * time.Second
	// DefaultShutdownTimeout bounds the graceful part of Serve's shutdown:
	// requests still running after it (streams, WebSockets) are cut.
	DefaultShutdownTimeout = 5 * time.Second
)

// readHeaderTimeout bounds a client's request headers (nginx's
// client_header_timeout), so a slow client cannot hold a connection open.
const readHeaderTimeout = 60 * time.Second

// Options configure a [Proxy]. The zero value is usable.
type Options struct {
	// ConnectTimeout bounds connecting to a backend (default
	// [DefaultConnectTimeout]). A backend that does not answer in time counts
	// as refused: the request goes to another one.
	ConnectTimeout time.Duration
	// ReadTimeout bounds the wait for a backend's next bytes once the request
	// is sent: a response, stream or WebSocket quiet for longer is cut, as
	// nginx's proxy_read_timeout does. Zero means no limit.
	ReadTimeout time.Duration
	// WriteTimeout bounds each write of a request to a backend (nginx's
	// proxy_send_timeout). Zero means no limit.
	WriteTimeout time.Duration
	// IdleTimeout is how long Serve keeps an idle client keep-alive
	// connection open (default [DefaultIdleTimeout]).
	IdleTimeout time.Duration
	// ShutdownTimeout bounds the graceful part of Serve's shutdown (default
	// [DefaultShutdownTimeout]).
	ShutdownTimeout time.Duration
	// Registerer receives the proxy's metrics (see [Proxy]); nil keeps them
	// unregistered.
	Registerer prometheus.Registerer
	// Log, if set, is called once per request when it ends, on the
	// request's goroutine: it should hand the entry off quickly.
	Log func(RequestLog)
	// Logger receives what the proxy cannot report with a response: a
	// backend's broken response, a failed WebSocket relay. Nil discards.
	Logger *slog.Logger
}

// RequestLog is one request as the access log hook sees it.
type RequestLog struct {
	// Start is when the request arrived.
	Start time.Time
	// Method, Host and Path are the client's.
	Method, Host, Path string
	// Route is the matched route's path ("" when none matched), Service its
	// service.
	Route, Service string
	// Status is the status sent to the client (101 for an upgrade; 499 when
	// the client went away before a response, as nginx logs it).
	Status int
	// Bytes is the size of the response body sent to the client (not counted
	// for upgraded connections).
	Bytes int64
	// Duration is the time from arrival to the end of the response, streams
	// and upgraded connections included.
	Duration time.Duration
	// Backend is the ID of the backend that answered, "" when none did.
	Backend string
	// Attempts is how many backends were tried (0, 1 or 2).
	Attempts int
	// Err is why no backend answered, when none did.
	Err error
}

// Route sends the requests under a path to a service.
type Route struct {
	// Path is a path prefix matched on whole segments, as nginx's
	// `location /api/` is: "/api" and "/api/" both match /api and
	// everything under /api/, never /apix. "/" matches every request.
	Path string
	// Service names the service (see [Proxy.SetBackends]).
	Service string
	// StripPrefix removes Path from the request's path before it is
	// forwarded: /api/users reaches the service as /users. The removed
	// prefix is sent in X-Forwarded-Prefix.
	StripPrefix bool
}

// Proxy is the front proxy: an [http.Handler] routing requests by path to
// the backends of services. Routes and backends change at any time;
// requests see each change atomically.
//
// Metrics (when [Options.Registerer] is set):
//
//   - toil_proxy_requests_total{route, service, code}: requests answered;
//   - toil_proxy_upstream_seconds{service}: time from sending a request to
//     a backend to its response headers;
//   - toil_proxy_retries_total{service}: requests sent to a second backend.
type Proxy struct {
	opts    Options
	rp      *httputil.ReverseProxy
	metrics *metrics
	routes  atomic.Pointer[routeTable]

	// mu serializes the control plane (SetRoutes, SetBackends, Set*);
	// requests never take it.
	mu       sync.Mutex
	services map[string]*service
}

var _ http.Handler = (*Proxy)(nil)

// New returns a proxy with no routes: every request gets a 404 page until
// [Proxy.SetRoutes].
func New(opts Options) *Proxy {
	if opts.ConnectTimeout <= 0 {
		opts.ConnectTimeout = DefaultConnectTimeout
	}
	if opts.IdleTimeout <= 0 {
		opts.IdleTimeout = DefaultIdleTimeout
	}
	if opts.ShutdownTimeout <= 0 {
		opts.ShutdownTimeout = DefaultShutdownTimeout
	}
	p := &Proxy{
		opts:     opts,
		metrics:  newMetrics(opts.Registerer),
		services: map[string]*service{},
	}
	p.rp = &httputil.ReverseProxy{
		Rewrite:   p.rewrite,
		Transport: roundTripper(p.roundTrip),
		// 0, not -1: ReverseProxy already flushes every write of a
		// stream (SSE, or any answer of unknown length); an answer of known
		// length goes out in one write instead of a flush per write,
		// which cost ~40% of proxied requests/s (bench/devloop/proxy).
		FlushInterval: 0,
		ErrorHandler:  p.proxyError,
		ErrorLog:      p.errorLog(),
		BufferPool:    &bufferPool{},
	}
	p.routes.Store(p.newRouteTable(nil))
	return p
}

// errorLog adapts Options.Logger for net/http, which logs through a
// *log.Logger and would otherwise print to the process's stderr.
func (p *Proxy) errorLog() *log.Logger {
	if p.opts.Logger == nil {
		return log.New(io.Discard, "", 0)
	}
	return slog.NewLogLogger(p.opts.Logger.Handler(), slog.LevelWarn)
}

// SetRoutes replaces the routing table. It rejects the whole table, keeping
// the current one, if a route has no service, a path not starting with "/",
// or the same path as another route.
func (p *Proxy) SetRoutes(routes []Route) error {
	seen := map[string]bool{}
	var errs []error
	for i, r := range routes {
		norm := normalizeRoute(r.Path)
		switch {
		case !strings.HasPrefix(r.Path, "/"):
			errs = append(errs, fmt.Errorf("route %d: path %q does not start with \"/\": write it as %q", i+1, r.Path, "/"+r.Path))
		case r.Service == "":
			errs = append(errs, fmt.Errorf("route %d (%s): no service to send it to", i+1, r.Path))
		case seen[norm]:
			errs = append(errs, fmt.Errorf("route %d: path %q is routed twice (%q is the same prefix): keep one", i+1, r.Path, norm))
		}
		seen[norm] = true
	}
	if len(errs) > 0 {
		return fmt.Errorf("set proxy routes: %w", errors.Join(errs...))
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.routes.Store(p.newRouteTable(routes))
	return nil
}

// Routes returns the current routing table, longest path first, with paths
// normalized ("/api/" reads "/api").
func (p *Proxy) Routes() []Route {
	t := p.routes.Load()
	out := make([]Route, len(t.routes))
	for i, r := range t.routes {
		out[i] = Route{Path: r.path, Service: r.svc.name, StripPrefix: r.strip}
	}
	return out
}

// SetStale makes every response of service carry X-Toil-Stale: reason,
// until SetStale(service, ""). A backend's response carries the reason set
// when its headers arrive, so clearing it as the first new worker gets
// ready keeps it off that worker's responses, even to requests that came
// before. Reasons are single-line; line breaks become spaces.
func (p *Proxy) SetStale(service, reason string) {
	reason = headerValue(reason)
	p.setMeta(service, func(m *meta) { m.stale = reason })
}

// SetBuildError records the last build error of service, shown on its 502
// and 503 pages; "" clears it.
func (p *Proxy) SetBuildError(service, text string) {
	p.setMeta(service, func(m *meta) { m.buildErr = text })
}

// SetStarting marks service as starting: with no backend that answers, its
// requests get a 503 page (with Retry-After) instead of a 502.
func (p *Proxy) SetStarting(service string, starting bool) {
	p.setMeta(service, func(m *meta) { m.starting = starting })
}

func (p *Proxy) setMeta(name string, f func(*meta)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.serviceLocked(name)
	m := *s.meta.Load()
	f(&m)
	s.meta.Store(&m)
}

// headerValue makes s safe as a header value: control characters (line
// breaks above all) would end the header or be refused by clients.
func headerValue(s string) string {
	return strings.TrimSpace(strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return ' '
		}
		return r
	}, s))
}

// Serve serves the proxy on ln until ctx is done, then shuts down
// gracefully: it stops accepting, lets running requests finish for up to
// [Options.ShutdownTimeout], then cuts what is left (streams, WebSockets)
// and returns nil once every request handler has returned. It closes ln.
func (p *Proxy) Serve(ctx context.Context, ln net.Listener) error {
	base, cut := context.WithCancel(context.WithoutCancel(ctx))
	defer cut()
	// handlers counts running requests, hijacked ones included, which
	// http.Server.Shutdown does not wait for.
	var handlers running
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			handlers.enter()
			defer handlers.leave()
			p.ServeHTTP(w, r)
		}),
		ReadHeaderTimeout: readHeaderTimeout,
		IdleTimeout:       p.opts.IdleTimeout,
		ErrorLog:          p.errorLog(),
		BaseContext:       func(net.Listener) context.Context { return base },
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		cut()
		handlers.wait()
		return fmt.Errorf("proxy on %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	graceful, cancel := context.WithTimeout(context.Background(), p.opts.ShutdownTimeout)
	err := srv.Shutdown(graceful)
	cancel()
	if err != nil {
		// Out of time: close what is left. Close cannot fail in a way that
		// matters here; its error is the listener's, already closed.
		_ = srv.Close()
	}
	cut() // ends hijacked connections and any handler still streaming
	<-served
	handlers.wait()
	p.closeIdle()
	return nil
}

// running counts running handlers and lets one wait until none is. Unlike
// a WaitGroup it allows a late handler to start while the wait is on (a
// connection the forced close raced with): the wait then covers it too.
type running struct {
	n    atomic.Int64
	mu   sync.Mutex
	idle chan struct{} // while someone waits: closed when n drops to 0
}

func (r *running) enter() { r.n.Add(1) }

func (r *running) leave() {
	if r.n.Add(-1) != 0 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.idle != nil {
		close(r.idle)
		r.idle = nil
	}
}

func (r *running) wait() {
	for {
		r.mu.Lock()
		if r.n.Load() == 0 {
			r.mu.Unlock()
			return
		}
		if r.idle == nil {
			r.idle = make(chan struct{})
		}
		idle := r.idle
		r.mu.Unlock()
		<-idle
	}
}

// closeIdle closes the idle keep-alive connections to every backend.
func (p *Proxy) closeIdle() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, s := range p.services {
		for _, b := range s.pool.Load().backends {
			b.t.CloseIdleConnections()
		}
	}
}

// stateKey keys the request's *exchange in its context, for the rewrite,
// round-trip and error hooks the ReverseProxy calls.
type stateKey struct{}

// exchange is one request's state, and the ResponseWriter that records what
// was sent. One allocation per request holds both.
type exchange struct {
	http.ResponseWriter

	status   int
	bytes    int64
	hijacked bool

	route    *route
	backend  *backend
	attempts int
	upstream int // the backend's status, for upgrades that bypass WriteHeader
	err      error
}

// ServeHTTP routes r to its service's backends.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	x := &exchange{ResponseWriter: w}
	defer p.finish(x, r, start)

	t := p.routes.Load()
	rt := t.match(r.URL.Path)
	if rt == nil {
		x.route = t.none
		p.notFound(x, r, t)
		return
	}
	x.route = rt
	if len(rt.svc.pool.Load().backends) == 0 {
		x.err = errNoBackends
		p.unavailable(x, r, rt.svc, rt.svc.meta.Load(), nil)
		return
	}
	p.rp.ServeHTTP(x, r.WithContext(context.WithValue(r.Context(), stateKey{}, x)))
}

// finish releases the backend and reports the request. It runs deferred, so
// also when the ReverseProxy aborts a response (panic(http.ErrAbortHandler)).
func (p *Proxy) finish(x *exchange, r *http.Request, start time.Time) {
	if x.backend != nil {
		x.backend.release()
	}
	status := x.status
	switch {
	case status != 0:
	case x.upstream == http.StatusSwitchingProtocols:
		status = http.StatusSwitchingProtocols
	default:
		status = http.StatusOK // what net/http sends for a handler that wrote nothing
	}
	x.route.count(status)
	if p.opts.Log == nil {
		return
	}
	l := RequestLog{
		Start:    start,
		Method:   r.Method,
		Host:     r.Host,
		Path:     r.URL.Path,
		Route:    x.route.path,
		Status:   status,
		Bytes:    x.bytes,
		Duration: time.Since(start),
		Attempts: x.attempts,
		Err:      x.err,
	}
	if x.route.svc != nil {
		l.Service = x.route.svc.name
	}
	if x.backend != nil {
		l.Backend = x.backend.ID
	}
	p.opts.Log(l)
}

// rewrite shapes the request sent to a backend: the route's prefix
// stripped, the client's Host kept, X-Forwarded-* set as nginx's usual
// proxy_set_header lines do (X-Forwarded-For appended to).
func (p *Proxy) rewrite(pr *httputil.ProxyRequest) {
	x := pr.In.Context().Value(stateKey{}).(*exchange)
	out := pr.Out
	out.URL.Scheme = "http"
	// The dial ignores the URL's host; this one only names the connection
	// pool of the chosen backend's transport.
	out.URL.Host = "upstream"
	out.Host = pr.In.Host
	// The query goes on as the client sent it, as nginx passes it:
	// ReverseProxy drops parameters it cannot parse before Rewrite, so
	// ?n=%zz would reach the service as no n at all and answer
	// differently behind toil dev than in production.
	out.URL.RawQuery = pr.In.URL.RawQuery
	if rt := x.route; rt.strip && rt.path != "/" {
		out.URL.Path = stripPrefix(out.URL.Path, rt.path)
		if out.URL.RawPath != "" {
			if raw := stripPrefix(out.URL.RawPath, rt.path); raw != out.URL.RawPath {
				out.URL.RawPath = raw
			} else {
				out.URL.RawPath = "" // the prefix is escaped differently; Path is authoritative
			}
		}
		out.Header.Set("X-Forwarded-Prefix", rt.path)
	}
	out.Header["X-Forwarded-For"] = pr.In.Header["X-Forwarded-For"]
	pr.SetXForwarded()
}

// stripPrefix removes the route's prefix from p, cleaned first if it has
// dot segments or doubled slashes, as the route matched it.
func stripPrefix(p, prefix string) string {
	if strings.Contains(p, "/.") || strings.Contains(p, "//") {
		clean := path.Clean(p)
		if strings.HasSuffix(p, "/") && clean != "/" {
			clean += "/"
		}
		p = clean
	}
	rest, ok := strings.CutPrefix(p, prefix)
	switch {
	case !ok || (rest != "" && rest[0] != '/'):
		return p
	case rest == "":
		return "/"
	}
	return rest
}

// proxyError answers a request no backend answered.
func (p *Proxy) proxyError(w http.ResponseWriter, r *http.Request, err error) {
	x := r.Context().Value(stateKey{}).(*exchange)
	x.err = err
	if x.hijacked {
		// The connection was handed to the WebSocket relay; there is no
		// response left to write.
		if p.opts.Logger != nil {
			p.opts.Logger.Warn("proxy upgrade", "service", x.route.svc.name, "path", r.URL.Path, "err", err)
		}
		return
	}
	if r.Context().Err() != nil {
		x.status = 499 // the client went away (or the proxy is stopping): no one reads an answer
		return
	}
	p.unavailable(x, r, x.route.svc, x.route.svc.meta.Load(), err)
}

// Write implements http.ResponseWriter.
func (x *exchange) Write(b []byte) (int, error) {
	if x.status == 0 {
		x.status = http.StatusOK
	}
	n, err := x.ResponseWriter.Write(b)
	x.bytes += int64(n)
	return n, err
}

// WriteHeader implements http.ResponseWriter.
func (x *exchange) WriteHeader(code int) {
	if code >= 200 && x.status == 0 { // 1xx come from the transport's goroutine; leave status alone
		x.status = code
	}
	x.ResponseWriter.WriteHeader(code)
}

// FlushError flushes the response to the client; the ReverseProxy calls it
// after every write of a streamed response.
func (x *exchange) FlushError() error {
	switch f := x.ResponseWriter.(type) {
	case interface{ FlushError() error }:
		return f.FlushError()
	case http.Flusher:
		f.Flush()
		return nil
	}
	return http.ErrNotSupported
}

// Flush implements http.Flusher for handlers that look for it directly.
func (x *exchange) Flush() { _ = x.FlushError() }

// Hijack hands the client connection over for an upgraded protocol, and
// records that it did.
func (x *exchange) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, brw, err := http.NewResponseController(x.ResponseWriter).Hijack()
	if err == nil {
		x.hijacked = true
	}
	return c, brw, err
}

// Unwrap gives http.ResponseController the underlying writer.
func (x *exchange) Unwrap() http.ResponseWriter { return x.ResponseWriter }

// routeTable is an immutable routing table, swapped whole.
type routeTable struct {
	routes []*route // longest path first
	none   *route   // stands for "no route matched" in logs and metrics
}

// route is a Route resolved to its service, with its metrics.
type route struct {
	path  string
	svc   *service // nil for the table's none
	strip bool
	codes *codeCounters
}

func (p *Proxy) newRouteTable(routes []Route) *routeTable {
	t := &routeTable{none: &route{codes: p.metrics.codes("", "")}}
	for _, r := range routes {
		path := normalizeRoute(r.Path)
		t.routes = append(t.routes, &route{
			path:  path,
			svc:   p.serviceLocked(r.Service),
			strip: r.StripPrefix,
			codes: p.metrics.codes(path, r.Service),
		})
	}
	slices.SortStableFunc(t.routes, func(a, b *route) int { return len(b.path) - len(a.path) })
	return t
}

// normalizeRoute drops a trailing slash: "/api/" and "/api" are the same
// route.
func normalizeRoute(p string) string {
	if len(p) > 1 {
		p = strings.TrimRight(p, "/")
		if p == "" {
			return "/"
		}
	}
	return p
}

// match returns the route with the longest prefix of p on whole segments,
// or nil. Paths with dot segments or doubled slashes are matched cleaned, as
// nginx matches a normalized URI, so /api/../admin is not an /api request.
func (t *routeTable) match(p string) *route {
	if strings.Contains(p, "/.") || strings.Contains(p, "//") {
		p = path.Clean(p)
	}
	for _, r := range t.routes {
		if r.path == "/" {
			return r
		}
		if strings.HasPrefix(p, r.path) && (len(p) == len(r.path) || p[len(r.path)] == '/') {
			return r
		}
	}
	return nil
}

func (r *route) count(status int) { r.codes.inc(status) }

// roundTripper adapts a function to http.RoundTripper.
type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// bufferPool recycles the ReverseProxy's copy buffers.
type bufferPool struct{ p sync.Pool }

func (b *bufferPool) Get() []byte {
	if v, ok := b.p.Get().(*[]byte); ok {
		return *v
	}
	return make([]byte, 32<<10)
}

func (b *bufferPool) Put(buf []byte) { b.p.Put(&buf) }
