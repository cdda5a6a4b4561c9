package toil

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"
)

type drainKey struct{}

// withDrain records how long an actor may take to drain once its context
// is cancelled: the stop timeout.
func withDrain(ctx context.Context, d time.Duration) context.Context {
	return context.WithValue(ctx, drainKey{}, d)
}

// DrainTimeout returns how long an actor may take, once ctx is cancelled,
// to finish in-flight work: the service's stop timeout (15s outside toil).
func DrainTimeout(ctx context.Context) time.Duration {
	if d, ok := ctx.Value(drainKey{}).(time.Duration); ok {
		return d
	}
	return 15 * time.Second
}

// Serve serves HTTP on ln until ctx is done, then shuts srv down
// gracefully: it stops accepting, lets in-flight requests finish within
// [DrainTimeout] and returns nil. It closes ln. Requests' contexts are not
// cancelled when ctx is: they are the work being drained.
func Serve(ctx context.Context, ln net.Listener, srv *http.Server) error {
	if srv.BaseContext == nil {
		base := context.WithoutCancel(ctx)
		srv.BaseContext = func(net.Listener) context.Context { return base }
	}
	nc := trackNewConns(srv)
	cl := &closeOnce{Listener: ln}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(cl) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	// net/http drops, unanswered, a request it reads after Shutdown has
	// begun (golang/go#75591). A connection accepted just before SIGTERM
	// is read a moment later, so during a rollout some client would get
	// EOF on a fresh connection, which it does not retry. So: stop
	// accepting, let Serve return so every accepted connection is known,
	// wait (briefly: a client may connect and send nothing) until each
	// has reached the handler or closed, and only then shut down.
	cl.Close()
	<-errc
	nc.wait(newConnGrace)
	drain := DrainTimeout(ctx)
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), drain)
	defer cancel()
	err := srv.Shutdown(sctx)
	if errors.Is(err, context.DeadlineExceeded) {
		srv.Close()
		return fmt.Errorf("serve %s: requests still running after %s", ln.Addr(), drain)
	}
	return err
}

// newConnGrace bounds the wait for accepted connections to send their
// first request once a server stops accepting.
const newConnGrace = time.Second

// closeOnce lets Serve and the drain both close the listener.
type closeOnce struct {
	net.Listener
	once sync.Once
	err  error
}

func (c *closeOnce) Close() error {
	c.once.Do(func() { c.err = c.Listener.Close() })
	return c.err
}

type connKey struct{}

// newConns tracks connections that were accepted but whose first request
// has not reached the handler yet.
type newConns struct {
	mu      sync.Mutex
	pending map[net.Conn]bool
	changed chan struct{} // closed and replaced on every removal
}

// trackNewConns hooks srv's ConnState, ConnContext and Handler (keeping
// whatever the caller set) to track new connections.
func trackNewConns(srv *http.Server) *newConns {
	nc := &newConns{pending: map[net.Conn]bool{}, changed: make(chan struct{})}
	state, connCtx, h := srv.ConnState, srv.ConnContext, srv.Handler
	if h == nil {
		h = http.DefaultServeMux
	}
	srv.ConnState = func(c net.Conn, s http.ConnState) {
		switch s {
		case http.StateNew:
			nc.mu.Lock()
			nc.pending[c] = true
			nc.mu.Unlock()
		case http.StateClosed, http.StateHijacked:
			nc.done(c)
		}
		if state != nil {
			state(c, s)
		}
	}
	srv.ConnContext = func(ctx context.Context, c net.Conn) context.Context {
		if connCtx != nil {
			ctx = connCtx(ctx, c)
		}
		return context.WithValue(ctx, connKey{}, c)
	}
	srv.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c, ok := r.Context().Value(connKey{}).(net.Conn); ok {
			nc.done(c)
		}
		h.ServeHTTP(w, r)
	})
	return nc
}

func (nc *newConns) done(c net.Conn) {
	nc.mu.Lock()
	defer nc.mu.Unlock()
	if nc.pending[c] {
		delete(nc.pending, c)
		close(nc.changed)
		nc.changed = make(chan struct{})
	}
}

// wait returns once no accepted connection is waiting for its first
// request to reach the handler, or after d.
func (nc *newConns) wait(d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	for {
		nc.mu.Lock()
		n, changed := len(nc.pending), nc.changed
		nc.mu.Unlock()
		if n == 0 {
			return
		}
		select {
		case <-changed:
		case <-t.C:
			return
		}
	}
}
