package toil

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"runtime"
	"runtime/pprof"
	"runtime/trace"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// readiness answers /readyz: ready once setup is done and until stopping
// starts, and only while every registered check passes.
type readiness struct {
	mu     sync.Mutex
	state  string // a lifecycleStates entry
	checks map[string]func(context.Context) error
}

func (r *readiness) set(state string) {
	r.mu.Lock()
	r.state = state
	r.mu.Unlock()
}

func (r *readiness) add(name string, check func(context.Context) error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.checks == nil {
		r.checks = map[string]func(context.Context) error{}
	}
	r.checks[name] = check
}

// ready returns "" when ready, else why not.
func (r *readiness) ready(ctx context.Context) string {
	r.mu.Lock()
	state := r.state
	checks := make(map[string]func(context.Context) error, len(r.checks))
	for k, v := range r.checks {
		checks[k] = v
	}
	r.mu.Unlock()
	if state != "running" {
		return state
	}
	names := make([]string, 0, len(checks))
	for n := range checks {
		names = append(names, n)
	}
	sort.Strings(names)
	var failed []string
	for _, n := range names {
		if err := checks[n](ctx); err != nil {
			failed = append(failed, fmt.Sprintf("%s: %v", n, err))
		}
	}
	return strings.Join(failed, "\n")
}

// adminHandler serves /metrics, /healthz, /readyz and /debug/pprof/.
func (p *proc) adminHandler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(p.stats.reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
		defer cancel()
		if why := p.readiness.ready(ctx); why != "" {
			http.Error(w, "not ready: "+why, http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ready")
	})
	// pprof's handlers, without importing net/http/pprof: its init
	// registers them on http.DefaultServeMux, which a service might serve
	// publicly.
	mux.HandleFunc("GET /debug/pprof/{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "profiles: profile?seconds=N trace?seconds=N")
		for _, pr := range pprof.Profiles() {
			fmt.Fprintf(w, "%s (%d)\n", pr.Name(), pr.Count())
		}
	})
	mux.HandleFunc("GET /debug/pprof/profile", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/octet-stream")
		if err := pprof.StartCPUProfile(w); err != nil {
			http.Error(w, err.Error(), http.StatusConflict)
			return
		}
		sleep(r, seconds(r, 30))
		pprof.StopCPUProfile()
	})
	mux.HandleFunc("GET /debug/pprof/trace", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/octet-stream")
		if err := trace.Start(w); err != nil {
			http.Error(w, err.Error(), http.StatusConflict)
			return
		}
		sleep(r, seconds(r, 1))
		trace.Stop()
	})
	mux.HandleFunc("GET /debug/pprof/{name}", func(w http.ResponseWriter, r *http.Request) {
		pr := pprof.Lookup(r.PathValue("name"))
		if pr == nil {
			http.Error(w, "no such profile", http.StatusNotFound)
			return
		}
		if r.PathValue("name") == "heap" && r.FormValue("gc") != "" {
			runtime.GC()
		}
		debug, _ := strconv.Atoi(r.FormValue("debug"))
		if debug == 0 {
			w.Header().Set("Content-Type", "application/octet-stream")
		} else {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		}
		pr.WriteTo(w, debug)
	})
	return mux
}

func seconds(r *http.Request, def int) time.Duration {
	if n, err := strconv.Atoi(r.FormValue("seconds")); err == nil && n > 0 {
		return time.Duration(n) * time.Second
	}
	return time.Duration(def) * time.Second
}

// sleep waits d or until the client goes away.
func sleep(r *http.Request, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-r.Context().Done():
	}
}

// startAdmin binds the admin listener; the returned func stops it.
func (p *proc) startAdmin(addr string) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, usagef("admin listener TOIL_ADMIN_ADDR=%s: %v", addr, err)
	}
	p.adminAddr = ln.Addr().String()
	srv := &http.Server{Handler: p.adminHandler(), ReadHeaderTimeout: 10 * time.Second}
	ctx, cancel := context.WithCancel(withDrain(context.Background(), time.Second))
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := Serve(ctx, ln, srv); err != nil {
			p.log.Warn("admin listener", "err", err)
		}
	}()
	p.log.Debug("admin listener", "addr", p.adminAddr)
	return func() { cancel(); <-done }, nil
}
