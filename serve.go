package toil

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
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
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	drain := DrainTimeout(ctx)
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), drain)
	defer cancel()
	err := srv.Shutdown(sctx)
	<-errc // Serve returns ErrServerClosed as soon as Shutdown starts
	if errors.Is(err, context.DeadlineExceeded) {
		srv.Close()
		return fmt.Errorf("serve %s: requests still running after %s", ln.Addr(), drain)
	}
	return err
}
