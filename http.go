package toil

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"reflect"
	"sync"
	"sync/atomic"
	"time"
)

// HTTP is the HTTP mixin: a named field of a struct service that serves
// the service's handler with safe limits, panic recovery, request metrics
// and a graceful drain on stop.
//
//	type Web struct {
//		toil.Base[Config]
//
//		HTTP toil.HTTP // config under http:
//	}
//
//	func (w *Web) Setup(ctx context.Context) error {
//		w.HTTP.HandleFunc("GET /ads/{id}", w.ad)
//		return nil
//	}
//
// What it serves: the routes registered with [HTTP.Handle] and
// [HTTP.HandleFunc] (on a Go 1.22 http.ServeMux), or else the service's own
// handler (a Handler() http.Handler method, or ServeHTTP). A struct service
// with a handler and no HTTP field gets one anyway, configured under http:,
// so every service that serves HTTP is served the same way.
//
// Where: the inherited socket (LISTEN_FDS) named after the field's config
// key ("http"), else the one named after the service, else the only
// inherited socket; without inherited sockets, :$PORT, else the configured
// addr. A second HTTP field (say Admin, config admin:) takes the socket
// named "admin", else its addr; never PORT or another's socket.
//
// Limits (see [HTTPConfig]): the header must arrive within 5s and be at most
// 64KiB (else 431); a body is cut at 10MiB: the handler's read fails with
// *http.MaxBytesError (answer 413) and the connection is closed after the
// response.
//
// A panicking handler is answered 500 (or, if it had started its answer,
// its connection is cut) and logged with its stack; the worker keeps
// serving. A panic with http.ErrAbortHandler aborts the response quietly,
// as net/http defines.
//
// Metrics, labelled by server (the config key):
// http_server_request_duration_seconds{server,route,code}, where route is
// the ServeMux pattern that matched ("GET /ads/{id}", or "none"), and
// http_server_requests_in_flight{server}, http_server_panics_total{server,route}.
//
// On stop it stops accepting and lets in-flight requests finish within
// drain_timeout (default: the service's stop timeout). /readyz reports the
// worker ready only once setup is done and the server is accepting.
type HTTP struct {
	mu     sync.Mutex
	mux    *http.ServeMux
	routes int

	env     *MixinEnv
	cfg     *HTTPConfig
	ln      net.Listener
	lnOwned atomic.Bool // ln is ours to close: set at bind, cleared when Serve takes it
	srv     *http.Server
	serving atomic.Bool
	wrapped *httpHandler
}

// HTTPConfig is the HTTP mixin's config, under its field's key (http: for
// a field HTTP). Durations are Go durations ("5s"), sizes take KiB/MiB/GiB
// ("64KiB").
type HTTPConfig struct {
	Addr              string        `help:"address to listen on when no socket is inherited and (for the first HTTP field) PORT is unset, e.g. 127.0.0.1:8080"`
	ReadHeaderTimeout time.Duration `default:"5s" help:"time to read a request's header; a client that sends it slowly is cut off"`
	ReadTimeout       time.Duration `default:"30s" help:"time to read a whole request, body included (0: none)"`
	WriteTimeout      time.Duration `default:"60s" help:"time to write a response, from the end of the request header (0: none); streams lift it per request with http.ResponseController"`
	IdleTimeout       time.Duration `default:"120s" help:"how long a keep-alive connection may wait for its next request"`
	MaxHeaderBytes    ByteSize      `default:"64KiB" help:"largest request header"`
	MaxBodyBytes      ByteSize      `default:"10MiB" help:"largest request body; -1: no limit"`
	DrainTimeout      time.Duration `help:"how long in-flight requests may run on after stop (0: the service's stop timeout)"`
}

// Validate checks the config; toil calls it on every load.
func (c *HTTPConfig) Validate() error {
	for _, d := range []struct {
		key string
		v   time.Duration
	}{
		{"read_header_timeout", c.ReadHeaderTimeout}, {"read_timeout", c.ReadTimeout},
		{"write_timeout", c.WriteTimeout}, {"idle_timeout", c.IdleTimeout}, {"drain_timeout", c.DrainTimeout},
	} {
		if d.v < 0 {
			return fmt.Errorf("%s is %s: want a duration of 0 or more, e.g. 5s", d.key, d.v)
		}
	}
	if c.MaxHeaderBytes <= 0 {
		return fmt.Errorf("max_header_bytes is %s: want a size above 0, e.g. 64KiB", c.MaxHeaderBytes)
	}
	if c.MaxBodyBytes == 0 || c.MaxBodyBytes < -1 {
		return fmt.Errorf("max_body_bytes is %s: want a size above 0, e.g. 10MiB, or -1 for no limit", c.MaxBodyBytes)
	}
	return nil
}

var (
	_ MixinConfig        = (*HTTP)(nil)
	_ MixinPreSetup      = (*HTTP)(nil)
	_ MixinPostSetup     = (*HTTP)(nil)
	_ MixinActors        = (*HTTP)(nil)
	_ MixinStop          = (*HTTP)(nil)
	_ MixinConfigChanged = (*HTTP)(nil)
)

// Handle registers h for pattern, a Go 1.22 http.ServeMux pattern such as
// "GET /ads/{id}"; it panics on a pattern that is invalid or conflicts with
// one already registered, as ServeMux does. Register routes in Setup (or
// before the service runs): once it runs, the mixin serves these routes
// instead of the service's own handler.
func (h *HTTP) Handle(pattern string, handler http.Handler) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.mux == nil {
		h.mux = http.NewServeMux()
	}
	h.mux.Handle(pattern, handler)
	h.routes++
}

// HandleFunc registers f for pattern; see [HTTP.Handle].
func (h *HTTP) HandleFunc(pattern string, f func(http.ResponseWriter, *http.Request)) {
	h.Handle(pattern, http.HandlerFunc(f))
}

// Addr returns the address the mixin listens on (host:port), or "" before
// the service's pre-setup bound it. Tests configure addr: 127.0.0.1:0 and
// read the port here.
func (h *HTTP) Addr() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.ln == nil {
		return ""
	}
	return h.ln.Addr().String()
}

// ToilConfig implements [MixinConfig].
func (h *HTTP) ToilConfig() any { return &HTTPConfig{} }

// ToilPreSetup binds the listening socket, before the service's Setup, so
// a socket or address problem fails the start before any work is done.
func (h *HTTP) ToilPreSetup(ctx context.Context, env *MixinEnv) error {
	cfg, ok := env.Config.(*HTTPConfig)
	if !ok {
		return fmt.Errorf("serve HTTP: config is %T, want *toil.HTTPConfig", env.Config)
	}
	ln, err := h.listen(env, cfg)
	if err != nil {
		return fmt.Errorf("serve HTTP: %w", err)
	}
	h.mu.Lock()
	h.env, h.cfg, h.ln = env, cfg, ln
	h.mu.Unlock()
	h.lnOwned.Store(true)
	env.AddReadyCheck("serving", func(context.Context) error {
		if !h.serving.Load() {
			return errors.New("not accepting connections yet")
		}
		return nil
	})
	return nil
}

// ToilPostSetup picks what to serve, now that the service's Setup has
// registered its routes or built its handler.
func (h *HTTP) ToilPostSetup(ctx context.Context, env *MixinEnv) error {
	next, err := h.handler(env)
	if err != nil {
		return err
	}
	cfg := h.cfg
	h.wrapped = newHTTPHandler(next, env, int64(cfg.MaxBodyBytes))
	h.srv = &http.Server{
		Handler:           h.wrapped,
		ReadHeaderTimeout: cfg.ReadHeaderTimeout,
		ReadTimeout:       cfg.ReadTimeout,
		WriteTimeout:      cfg.WriteTimeout,
		IdleTimeout:       cfg.IdleTimeout,
		MaxHeaderBytes:    int(cfg.MaxHeaderBytes),
		ErrorLog:          slog.NewLogLogger(env.Log.Handler(), slog.LevelWarn),
	}
	return nil
}

// handler is what the mixin serves: its own routes, or the service's
// handler if this is the service's first HTTP field.
func (h *HTTP) handler(env *MixinEnv) (http.Handler, error) {
	h.mu.Lock()
	mux, routes := h.mux, h.routes
	h.mu.Unlock()
	var own http.Handler
	if env.primary() {
		own = ownerHandler(env.Owner)
	}
	switch {
	case routes > 0 && own != nil:
		return nil, fmt.Errorf("serve HTTP: the service has its own handler (%T has Handler() or ServeHTTP) and routes registered with %s.Handle; serve one: register every route on %s, or mount the handler with %s.Handle(\"/\", ...)", env.Owner, env.Field, env.Field, env.Field)
	case routes > 0:
		return mux, nil
	case own != nil:
		return own, nil
	case env.primary():
		return nil, fmt.Errorf("serve HTTP: nothing to serve: register routes with s.%s.Handle in Setup, or give %T a Handler() http.Handler or ServeHTTP method", env.Field, env.Owner)
	default:
		return nil, fmt.Errorf("serve HTTP: nothing to serve: register routes with s.%s.Handle in Setup (the service's own handler is served by its first HTTP field)", env.Field)
	}
}

// ToilActors implements [MixinActors]: one actor serving until stop.
func (h *HTTP) ToilActors() []Actor {
	return []Actor{{Name: "serve", Run: h.serve}}
}

func (h *HTTP) serve(ctx context.Context) error {
	if d := h.cfg.DrainTimeout; d > 0 && d < DrainTimeout(ctx) {
		ctx = withDrain(ctx, d)
	}
	h.lnOwned.Store(false) // Serve closes it
	h.serving.Store(true)
	stop := context.AfterFunc(ctx, func() {
		h.serving.Store(false)
		h.env.Log.Info("draining HTTP", "in_flight", h.wrapped.inFlight.Load(), "timeout", DrainTimeout(ctx).String())
	})
	defer stop()
	h.env.Log.Info("serving HTTP", "addr", h.ln.Addr().String())
	return Serve(ctx, h.ln, h.srv)
}

// ToilStop closes the socket if setup failed before serving began; once
// serving, the drain closed it.
func (h *HTTP) ToilStop(ctx context.Context) error {
	if h.lnOwned.Swap(false) {
		h.ln.Close()
	}
	return nil
}

// ToilConfigChanged applies max_body_bytes at once; the server's timeouts,
// header limit and address are fixed for the life of the process, so a
// change to them is logged and waits for a restart.
func (h *HTTP) ToilConfigChanged(ctx context.Context, old, new any) error {
	o, n := old.(*HTTPConfig), new.(*HTTPConfig)
	if h.wrapped != nil {
		h.wrapped.maxBody.Store(int64(n.MaxBodyBytes))
	}
	oc, nc := *o, *n
	oc.MaxBodyBytes, nc.MaxBodyBytes = 0, 0
	if oc != nc && h.env != nil {
		h.env.Log.Warn("HTTP server settings changed; they apply at the next restart (max_body_bytes applies now)", "section", h.env.Section)
	}
	return nil
}

// ownerHandler is the service's own handler, if it has one.
func ownerHandler(owner any) http.Handler {
	if hp, ok := owner.(HandlerProvider); ok {
		return hp.Handler()
	}
	if hh, ok := owner.(http.Handler); ok {
		return hh
	}
	return nil
}

// primary reports whether env belongs to the service's first HTTP field:
// the one that serves the service's own handler and may take PORT or the
// only inherited socket.
func (e *MixinEnv) primary() bool {
	for _, m := range e.p.mixins {
		if _, ok := m.ptr.(*HTTP); ok {
			return m.env == e
		}
	}
	return false
}

// withImplicitHTTP gives a struct service that serves a handler (Handler()
// or ServeHTTP) but has no HTTP field one, so its handler is served like
// any other: same limits, recovery, metrics and config (under http:).
func withImplicitHTTP(svc any, mixins []*mixin) []*mixin {
	if !ownerHandlerType(svc) {
		return mixins
	}
	for _, m := range mixins {
		if _, ok := m.ptr.(*HTTP); ok {
			return mixins
		}
	}
	return append(mixins, &mixin{field: "HTTP", section: "http", ptr: &HTTP{}})
}

func ownerHandlerType(svc any) bool {
	switch svc.(type) {
	case HandlerProvider, http.Handler:
		return true
	}
	return false
}

var httpType = reflect.TypeFor[HTTP]()

// ServesHTTP reports whether Run would serve HTTP for svc: it has an HTTP
// field (a direct or embedded struct field of type HTTP or *HTTP), a
// Handler() http.Handler method, or a ServeHTTP method. toiltest uses it to
// hand such a service a loopback socket.
func ServesHTTP(svc any) bool {
	if ownerHandlerType(svc) {
		return true
	}
	t := reflect.TypeOf(svc)
	if t == nil || t.Kind() != reflect.Pointer || t.Elem().Kind() != reflect.Struct {
		return false
	}
	return hasHTTPField(t.Elem(), 0)
}

func hasHTTPField(t reflect.Type, depth int) bool {
	if depth > 8 { // a pointer cycle through embedded fields
		return false
	}
	for i := range t.NumField() {
		f := t.Field(i)
		ft := f.Type
		if ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if ft == httpType {
			return true
		}
		if f.Anonymous && ft.Kind() == reflect.Struct && hasHTTPField(ft, depth+1) {
			return true
		}
	}
	return false
}
