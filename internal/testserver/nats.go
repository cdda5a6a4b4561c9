package testserver

import (
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// NATSServer is an embedded NATS server with JetStream, in the test
// process, listening on a loopback port of its own.
type NATSServer struct {
	srv *server.Server
}

// NATS starts an embedded NATS server with JetStream enabled and its store
// in a temp dir, and shuts it down when the test ends.
func NATS(t testing.TB) *NATSServer {
	t.Helper()
	srv, err := server.NewServer(&server.Options{
		ServerName: "toil-test",
		Host:       "127.0.0.1",
		Port:       server.RANDOM_PORT,
		JetStream:  true,
		StoreDir:   t.TempDir(),
		NoLog:      true,
		NoSigs:     true,
	})
	if err != nil {
		t.Fatalf("testserver: nats: %v", err)
	}
	srv.Start()
	t.Cleanup(func() {
		srv.Shutdown()
		srv.WaitForShutdown()
	})
	// ReadyForConnections returns as soon as the listener is up; the
	// duration only bounds a server that never comes up.
	if !srv.ReadyForConnections(20 * time.Second) {
		t.Fatalf("testserver: nats: not ready after 20s")
	}
	return &NATSServer{srv: srv}
}

// URL is the server's nats:// URL, as NATS_URL holds it.
func (n *NATSServer) URL() string { return n.srv.ClientURL() }

// Server is the embedded server, for tests that look inside it.
func (n *NATSServer) Server() *server.Server { return n.srv }
