package proxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Backend is one place a service's requests can go: the socket its workers
// share, or one worker's own port.
type Backend struct {
	// ID names the backend in the access log ("web", "legacy.2"); it is
	// unique within a service. Empty means Addr.
	ID string
	// Addr is a TCP address ("127.0.0.1:8081") or a unix socket: a path
	// ("/run/toil/web.sock", "./web.sock") or an abstract name ("@web").
	Addr string
}

// network is the network Addr is on.
func (b Backend) network() string {
	if strings.Contains(b.Addr, "/") || strings.HasPrefix(b.Addr, "@") {
		return "unix"
	}
	return "tcp"
}

// downFor is how long a backend that refused a connection is tried last
// (nginx's fail_timeout): a worker that died is not tried by every request
// until the supervisor replaces it.
const downFor = time.Second

// maxIdlePerBackend is how many keep-alive connections to one backend stay
// open between requests: enough for a browser's and a load test's bursts.
const maxIdlePerBackend = 64

// backend is a Backend in use: its connection pool and load.
type backend struct {
	Backend
	t *http.Transport

	inflight  atomic.Int64
	downUntil atomic.Int64 // unix nanoseconds; 0 when up
	retired   atomic.Bool
}

// pool is a service's backends, swapped whole.
type pool struct{ backends []*backend }

// meta is what the supervisor says about a service, swapped whole.
type meta struct {
	stale    string
	buildErr string
	starting bool
}

// service is a named upstream.
type service struct {
	name string
	pool atomic.Pointer[pool]
	meta atomic.Pointer[meta]
	next atomic.Uint32 // round-robin start for picks

	upstream prometheus.Observer
	retries  prometheus.Counter
}

// serviceLocked returns the service name, creating it (with no backends)
// on first mention. p.mu is held.
func (p *Proxy) serviceLocked(name string) *service {
	if s, ok := p.services[name]; ok {
		return s
	}
	s := &service{
		name:     name,
		upstream: p.metrics.upstream.WithLabelValues(name),
		retries:  p.metrics.retries.WithLabelValues(name),
	}
	s.pool.Store(&pool{})
	s.meta.Store(&meta{})
	p.services[name] = s
	return s
}

// SetBackends makes backends the set that serves service, replacing the
// previous set atomically: requests already on a backend that is not in the
// new set finish there, its idle connections are closed as they end, and
// every new request goes to the new set. A backend equal to one in the
// previous set (same ID and Addr) keeps its connections. An empty set
// leaves the service with nothing to serve it (a 502 or 503 page).
func (p *Proxy) SetBackends(service string, backends []Backend) error {
	backends = slices.Clone(backends) // IDs are defaulted below; the caller's slice stays as it was
	ids := map[string]bool{}
	for i := range backends {
		b := &backends[i]
		if b.Addr == "" {
			return fmt.Errorf("set backends of %s: backend %d (%q) has no address", service, i+1, b.ID)
		}
		if b.network() == "tcp" {
			if _, _, err := net.SplitHostPort(b.Addr); err != nil {
				return fmt.Errorf("set backends of %s: backend %q: %w (want host:port, or a unix socket path)", service, b.ID, err)
			}
		}
		if b.ID == "" {
			b.ID = b.Addr
		}
		if ids[b.ID] {
			return fmt.Errorf("set backends of %s: two backends are named %q: IDs must be unique", service, b.ID)
		}
		ids[b.ID] = true
	}

	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.serviceLocked(service)
	old := map[Backend]*backend{}
	for _, b := range s.pool.Load().backends {
		old[b.Backend] = b
	}
	next := &pool{backends: make([]*backend, len(backends))}
	for i, b := range backends {
		if ob, ok := old[b]; ok {
			next.backends[i] = ob
			delete(old, b)
			continue
		}
		next.backends[i] = p.newBackend(b)
	}
	s.pool.Store(next)
	for _, b := range old {
		b.retire()
	}
	return nil
}

func (p *Proxy) newBackend(b Backend) *backend {
	nb := &backend{Backend: b}
	network, addr := b.network(), b.Addr
	d := &net.Dialer{Timeout: p.opts.ConnectTimeout}
	rt, wt := p.opts.ReadTimeout, p.opts.WriteTimeout
	idle := 90 * time.Second
	if rt > 0 && rt/2 < idle {
		// Close idle connections before their read deadline would: a
		// request must not get a connection about to time out.
		idle = rt / 2
	}
	nb.t = &http.Transport{
		Proxy: nil, // never HTTP_PROXY: backends are local
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			c, err := d.DialContext(ctx, network, addr)
			if err != nil {
				return nil, &dialError{err: err}
			}
			if rt > 0 || wt > 0 {
				return &deadlineConn{Conn: c, read: rt, write: wt}, nil
			}
			return c, nil
		},
		MaxIdleConns:        maxIdlePerBackend,
		MaxIdleConnsPerHost: maxIdlePerBackend,
		IdleConnTimeout:     idle,
		// A proxy passes bodies as they are: no Accept-Encoding of its own,
		// no transparent decompression.
		DisableCompression: true,
	}
	return nb
}

// retire marks b as out of its service's set. Its idle connections close
// now, and the ones still carrying requests close as those end.
func (b *backend) retire() {
	b.retired.Store(true)
	if b.inflight.Load() == 0 {
		b.t.CloseIdleConnections()
	}
}

// release ends one request on b.
func (b *backend) release() {
	if b.inflight.Add(-1) == 0 && b.retired.Load() {
		b.t.CloseIdleConnections()
	}
}

func (b *backend) markDown() {
	b.downUntil.Store(time.Now().Add(downFor).UnixNano())
}

// pick chooses a backend of pl for a request: the least loaded, ties broken
// round-robin, backends that recently refused a connection last. It skips
// the backends already tried for this request while any other is left.
func (s *service) pick(pl *pool, tried []*backend) *backend {
	bs := pl.backends
	switch len(bs) {
	case 0:
		return nil
	case 1:
		return bs[0]
	}
	start := int(s.next.Add(1) % uint32(len(bs)))
	var now int64
	var best *backend
	bestLoad := int64(-1)
	for pass := 0; best == nil && pass < 2; pass++ {
		for i := range bs {
			b := bs[(start+i)%len(bs)]
			if pass == 0 && slices.Contains(tried, b) {
				continue
			}
			load := b.inflight.Load()
			if until := b.downUntil.Load(); until != 0 {
				if now == 0 {
					now = time.Now().UnixNano()
				}
				if now < until {
					load += 1 << 40
				}
			}
			if bestLoad < 0 || load < bestLoad {
				best, bestLoad = b, load
			}
		}
	}
	return best
}

// maxAttempts bounds the backends one request is sent to, whatever swaps
// happen meanwhile.
const maxAttempts = 8

// errNoBackends is the error when a service's set emptied during a request.
var errNoBackends = errors.New("no backends")

// roundTrip sends req to a backend of its route's service. When the
// backend refused the connection, or reset it before any response and the
// request is safe to send again, it tries another backend of the current
// set, re-read so a request caught by a swap reaches the new set: each
// backend once, a lone backend twice. A failure on a backend swapped out
// meanwhile does not count: the request was only late.
func (p *Proxy) roundTrip(req *http.Request) (*http.Response, error) {
	x := req.Context().Value(stateKey{}).(*exchange)
	s := x.route.svc
	start := time.Now()
	if req.Body != nil && req.Body != http.NoBody {
		// The transport closes the body when it fails to connect; the
		// next backend still needs it. The ReverseProxy closes it when the
		// request ends.
		req = req.WithContext(req.Context()) // a shallow copy: ours to change
		req.Body = keepOpen{req.Body}
	}
	var tried [maxAttempts]*backend
	var errs []error
	counted := 0
	for n := 0; n < maxAttempts; n++ {
		pl := s.pool.Load()
		if counted > 0 && counted >= max(2, len(pl.backends)) {
			break
		}
		b := s.pick(pl, tried[:n])
		if b == nil {
			break
		}
		if n > 0 {
			s.retries.Inc()
			req = req.Clone(req.Context())
		}
		res, err := p.try(req, x, b)
		if err == nil {
			s.upstream.Observe(time.Since(start).Seconds())
			x.upstream = res.StatusCode
			// Whether the response is stale is decided now that it came,
			// not when the request did: a backend shared by old and new
			// workers (one socket) cannot say which answered, and a new
			// worker that got ready meanwhile has cleared the mark.
			if m := s.meta.Load(); m.stale != "" {
				res.Header.Set(StaleHeader, m.stale)
			}
			return res, nil
		}
		errs = append(errs, err)
		tried[n] = b
		if !b.retired.Load() {
			counted++
		}
		if !retryable(req, err) {
			break
		}
	}
	if len(errs) == 0 {
		return nil, errNoBackends
	}
	return nil, errors.Join(errs...)
}

// try sends req to b. On success b stays counted as busy with the request
// until ServeHTTP ends.
func (p *Proxy) try(req *http.Request, x *exchange, b *backend) (*http.Response, error) {
	b.inflight.Add(1)
	x.attempts++
	res, err := b.t.RoundTrip(req)
	if err != nil {
		var de *dialError
		if errors.As(err, &de) && req.Context().Err() == nil {
			b.markDown()
		}
		b.release()
		return nil, fmt.Errorf("%s (%s): %w", b.ID, b.Addr, err)
	}
	x.backend = b
	return res, nil
}

// retryable reports whether req, which failed with err before any response,
// can go to another backend: always when the connection was never made
// (nothing was sent, the body is untouched), and for a bodiless GET, HEAD,
// OPTIONS or TRACE whose connection broke before a response (the backend
// may have seen it, but it is safe to repeat).
func retryable(req *http.Request, err error) bool {
	if req.Context().Err() != nil {
		return false // the client left or the proxy is stopping
	}
	if de := (*dialError)(nil); errors.As(err, &de) {
		return true
	}
	switch req.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
	default:
		return false
	}
	if req.Body != nil && req.Body != http.NoBody {
		return false
	}
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		// net/http's errServerClosedIdle is not exported.
		strings.Contains(err.Error(), "server closed idle connection")
}

// keepOpen is a request body the transport cannot close.
type keepOpen struct{ io.Reader }

func (keepOpen) Close() error { return nil }

// dialError marks a failure to connect: nothing of the request was sent.
type dialError struct{ err error }

func (e *dialError) Error() string { return e.err.Error() }
func (e *dialError) Unwrap() error { return e.err }

// deadlineConn applies Options.ReadTimeout and WriteTimeout to a backend
// connection, per read and per write as nginx's proxy_read_timeout and
// proxy_send_timeout do, so a long stream that keeps moving is never cut.
type deadlineConn struct {
	net.Conn
	read, write time.Duration
}

func (c *deadlineConn) Read(b []byte) (int, error) {
	if c.read > 0 {
		if err := c.Conn.SetReadDeadline(time.Now().Add(c.read)); err != nil {
			return 0, err
		}
	}
	return c.Conn.Read(b)
}

func (c *deadlineConn) Write(b []byte) (int, error) {
	now := time.Now()
	if c.write > 0 {
		if err := c.Conn.SetWriteDeadline(now.Add(c.write)); err != nil {
			return 0, err
		}
	}
	if c.read > 0 {
		// The wait for the answer starts with the request, including the
		// read already pending on an idle keep-alive connection.
		if err := c.Conn.SetReadDeadline(now.Add(c.read)); err != nil {
			return 0, err
		}
	}
	return c.Conn.Write(b)
}
