package backing

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/alicebob/miniredis/v2"
	natsserver "github.com/nats-io/nats-server/v2/server"

	"github.com/toilhq/toil/layout"
)

// natsServer is the nats-server library running in toil's process.
type natsServer struct{ srv *natsserver.Server }

// startNATS starts an embedded NATS server with JetStream, its store in
// dir, on b's port or a free one.
func startNATS(b *layout.Backing, dir string) (server, int, error) {
	port := b.Port
	if port == 0 {
		port = natsserver.RANDOM_PORT
	}
	srv, err := natsserver.NewServer(&natsserver.Options{
		ServerName: "toil-dev-" + b.Name,
		Host:       "127.0.0.1",
		Port:       port,
		JetStream:  true,
		StoreDir:   dir,
		// toil owns the signals, and the server's log is not the user's.
		NoLog:  true,
		NoSigs: true,
	})
	if err != nil {
		return nil, 0, fmt.Errorf("backing %s: embedded nats: %w", b.Name, err)
	}
	srv.Start()
	timeout := b.Ready.Timeout
	if timeout == 0 {
		timeout = layout.DefaultReadyTimeout
	}
	// ReadyForConnections returns as soon as the listener is up; a port
	// already in use makes it wait out the timeout, so the address is
	// checked first.
	if !srv.ReadyForConnections(timeout) {
		srv.Shutdown()
		srv.WaitForShutdown()
		if b.Port != 0 {
			return nil, 0, fmt.Errorf("backing %s: embedded nats did not start on port %d within %s; is the port in use? Pick another port: in %s, or leave it out for a free one",
				b.Name, b.Port, timeout, fileLine(b))
		}
		return nil, 0, fmt.Errorf("backing %s: embedded nats not ready within %s", b.Name, timeout)
	}
	tcp, ok := srv.Addr().(*net.TCPAddr)
	if !ok {
		srv.Shutdown()
		srv.WaitForShutdown()
		return nil, 0, fmt.Errorf("backing %s: embedded nats has no TCP address", b.Name)
	}
	return &natsServer{srv: srv}, tcp.Port, nil
}

func (n *natsServer) pid() int { return 0 }

func (n *natsServer) stop(ctx context.Context) error {
	// Shutdown closes clients and flushes JetStream; it does not block on
	// them for long.
	n.srv.Shutdown()
	done := make(chan struct{})
	go func() {
		n.srv.WaitForShutdown()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("embedded nats: shutdown: %w", ctx.Err())
	}
}

// redisServer is miniredis running in toil's process.
type redisServer struct{ m *miniredis.Miniredis }

// startRedis starts an embedded Redis-compatible server on b's port or a
// free one. Keys expire with the wall clock, as in Redis.
func startRedis(b *layout.Backing) (server, int, error) {
	m := miniredis.NewMiniRedis()
	m.ClockTTL(true)
	if err := m.StartAddr(addr(b.Port)); err != nil {
		return nil, 0, fmt.Errorf("backing %s: embedded redis on %s: %w; pick another port: in %s, or leave it out for a free one",
			b.Name, addr(b.Port), err, fileLine(b))
	}
	p, err := strconv.Atoi(m.Port())
	if err != nil {
		m.Close()
		return nil, 0, fmt.Errorf("backing %s: embedded redis port %q: %w", b.Name, m.Port(), err)
	}
	return &redisServer{m: m}, p, nil
}

func (r *redisServer) pid() int { return 0 }

func (r *redisServer) stop(context.Context) error {
	r.m.Close()
	return nil
}

// waitTick is how often a readiness probe is tried.
const waitTick = 25 * time.Millisecond
