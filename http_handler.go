package toil

import (
	"bufio"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// httpBuckets are the latency buckets, in seconds: finer than Prometheus's
// defaults below 5ms, where most handlers answer.
var httpBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}

// httpHandler wraps the served handler: body limit, panic recovery and
// request metrics.
type httpHandler struct {
	next    http.Handler
	log     *slog.Logger
	maxBody atomic.Int64 // -1: no limit

	inFlight atomic.Int64
	duration prometheus.ObserverVec // route, code
	panics   *prometheus.CounterVec // route

	mu        sync.RWMutex
	observers map[routeCode]prometheus.Observer
}

type routeCode struct {
	route string
	code  int
}

func newHTTPHandler(next http.Handler, env *MixinEnv, maxBody int64) *httpHandler {
	h := &httpHandler{next: next, log: env.Log, observers: map[routeCode]prometheus.Observer{}}
	h.maxBody.Store(maxBody)
	server := prometheus.Labels{"server": env.Section}
	h.duration = env.Stats.HistogramVec("http_server_request_duration_seconds",
		"Time to answer an HTTP request, by server (the mixin's config key), route (the ServeMux pattern, or none) and status code.",
		httpBuckets, "server", "route", "code").MustCurryWith(server)
	h.panics = env.Stats.CounterVec("http_server_panics_total",
		"HTTP handlers that panicked, answered 500 or cut off.", "server", "route").MustCurryWith(server)
	inFlight := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name:        "http_server_requests_in_flight",
		Help:        "HTTP requests being answered now.",
		ConstLabels: server,
	}, func() float64 { return float64(h.inFlight.Load()) })
	if err := env.Stats.Registry().Register(inFlight); err != nil {
		env.Log.Error("metric not exported", "metric", "http_server_requests_in_flight", "err", err)
	}
	return h
}

func (h *httpHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	h.inFlight.Add(1)
	if max := h.maxBody.Load(); max >= 0 && r.Body != nil && r.Body != http.NoBody {
		// The real writer, not ours: net/http closes the connection after
		// the response when its body limit is hit.
		r.Body = http.MaxBytesReader(w, r.Body, max)
	}
	sw := &statusWriter{ResponseWriter: w}
	defer h.done(sw, r, start)
	h.next.ServeHTTP(sw, r)
}

// done is deferred by ServeHTTP: it recovers a panic and records the
// request.
func (h *httpHandler) done(sw *statusWriter, r *http.Request, start time.Time) {
	p := recover()
	code := sw.status
	abort := false
	switch {
	case p == nil:
	case p == http.ErrAbortHandler:
		abort = true // the handler's way to cut the response off, quietly
	default:
		route := routeLabel(r.Pattern)
		h.panics.WithLabelValues(route).Inc()
		h.log.Error("panic serving HTTP", "method", r.Method, "path", r.URL.Path, "route", route,
			"panic", fmt.Sprint(p), "stack", string(debug.Stack()))
		if sw.wrote || sw.hijacked {
			// Part of the answer is out: cut the connection, so the client
			// cannot take a truncated body for a whole one.
			abort = true
		} else {
			http.Error(sw.ResponseWriter, "500 internal server error", http.StatusInternalServerError)
			code = http.StatusInternalServerError
		}
	}
	switch {
	case sw.hijacked:
		code = codeHijacked
	case abort:
		code = codeAborted
	case code == 0:
		code = http.StatusOK // net/http's answer to a handler that wrote nothing
	}
	h.inFlight.Add(-1)
	h.observer(r.Pattern, code).Observe(time.Since(start).Seconds())
	if abort {
		panic(http.ErrAbortHandler)
	}
}

const (
	codeHijacked = -1
	codeAborted  = -2
)

func (h *httpHandler) observer(pattern string, code int) prometheus.Observer {
	key := routeCode{pattern, code}
	h.mu.RLock()
	o, ok := h.observers[key]
	h.mu.RUnlock()
	if ok {
		return o
	}
	var label string
	switch code {
	case codeHijacked:
		label = "hijacked"
	case codeAborted:
		label = "aborted"
	default:
		label = strconv.Itoa(code)
	}
	o = h.duration.WithLabelValues(routeLabel(pattern), label)
	h.mu.Lock()
	h.observers[key] = o
	h.mu.Unlock()
	return o
}

// routeLabel keeps the route label's values few: the pattern, never the
// path.
func routeLabel(pattern string) string {
	if pattern == "" {
		return "none"
	}
	return pattern
}

// statusWriter records the status a handler answers with. It passes the
// optional interfaces (Flusher, Hijacker, io.ReaderFrom) through, and
// Unwrap lets http.ResponseController reach the rest.
type statusWriter struct {
	http.ResponseWriter
	status   int
	wrote    bool
	hijacked bool
}

func (w *statusWriter) WriteHeader(code int) {
	// 1xx answers (103 Early Hints) come before the real one; 101 is final.
	if !w.wrote && (code >= 200 || code == http.StatusSwitchingProtocols) {
		w.status, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if !w.wrote {
		w.status, w.wrote = http.StatusOK, true
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) WriteString(s string) (int, error) {
	if !w.wrote {
		w.status, w.wrote = http.StatusOK, true
	}
	return io.WriteString(w.ResponseWriter, s)
}

// ReadFrom keeps net/http's sendfile path for io.Copy from a file.
func (w *statusWriter) ReadFrom(r io.Reader) (int64, error) {
	if !w.wrote {
		w.status, w.wrote = http.StatusOK, true
	}
	return io.Copy(w.ResponseWriter, r)
}

func (w *statusWriter) Flush() {
	if !w.wrote {
		w.status, w.wrote = http.StatusOK, true
	}
	_ = http.NewResponseController(w.ResponseWriter).Flush()
}

func (w *statusWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, rw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err == nil {
		w.hijacked = true
	}
	return c, rw, err
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

var (
	_ http.Flusher  = (*statusWriter)(nil)
	_ http.Hijacker = (*statusWriter)(nil)
	_ io.ReaderFrom = (*statusWriter)(nil)
)
