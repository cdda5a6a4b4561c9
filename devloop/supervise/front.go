package supervise

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"time"

	"github.com/toilhq/toil/layout"
)

// front forwards the connections made to a main: service's listen address
// to its ready workers, round-robin: the address stays up while workers
// come and go, as a run: service's shared socket does.
type front struct {
	s    *Supervisor
	svc  *service
	sock *socket

	mu     sync.Mutex
	conns  map[net.Conn]bool
	closed bool
	next   int
}

func (s *Supervisor) newFront(svc *service, k *socket) *front {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.newFrontLocked(svc, k)
}

func (s *Supervisor) newFrontLocked(svc *service, k *socket) *front {
	f := &front{s: s, svc: svc, sock: k, conns: map[net.Conn]bool{}}
	s.wg.Go(f.serve)
	return f
}

func (f *front) serve() {
	for {
		c, err := f.sock.ln.Accept()
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil {
			// Out of file descriptors, say: the connection stays queued.
			time.Sleep(10 * time.Millisecond)
			continue
		}
		if !f.track(c) {
			c.Close()
			return
		}
		f.s.wg.Go(func() { f.forward(c) })
	}
}

// track registers c so close can cut it; false once closed.
func (f *front) track(c net.Conn) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return false
	}
	f.conns[c] = true
	return true
}

func (f *front) untrack(c net.Conn) {
	f.mu.Lock()
	delete(f.conns, c)
	f.mu.Unlock()
	c.Close()
}

// forward connects c to a ready worker, waiting for one up to the connect
// timeout; a worker that refuses (it just stopped) is skipped.
func (f *front) forward(c net.Conn) {
	defer f.untrack(c)
	ctx, cancel := context.WithTimeout(f.s.ctx, layout.DefaultConnectTimeout)
	defer cancel()
	var up net.Conn
	for up == nil {
		f.s.mu.Lock()
		list := f.s.backendsLocked(f.svc)
		changed := f.s.changed
		f.s.mu.Unlock()
		f.mu.Lock()
		start := f.next
		f.next++
		f.mu.Unlock()
		for i := range list {
			var d net.Dialer
			if conn, err := d.DialContext(ctx, "tcp", list[(start+i)%len(list)].Addr); err == nil {
				up = conn
				break
			}
		}
		if up == nil {
			// No worker is ready, or every one refused (they are being
			// replaced): wait for the next change, up to the timeout.
			select {
			case <-changed:
			case <-ctx.Done():
				return
			}
		}
	}
	if !f.track(up) {
		up.Close()
		return
	}
	defer f.untrack(up)
	done := make(chan struct{})
	go func() {
		defer close(done)
		pipe(up, c)
	}()
	pipe(c, up)
	<-done
}

// pipe copies from src to dst, then closes dst for writing so the other
// side sees the end.
func pipe(dst, src net.Conn) {
	_, _ = io.Copy(dst, src)
	if cw, ok := dst.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
	} else {
		dst.Close()
	}
}

// close stops accepting and cuts the connections in flight.
func (f *front) close() {
	f.mu.Lock()
	f.closed = true
	conns := f.conns
	f.conns = map[net.Conn]bool{}
	f.mu.Unlock()
	f.sock.close()
	for c := range conns {
		c.Close()
	}
}
