package toil_test

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/toilhq/toil"
)

// A connection accepted before the stop but whose request arrives after it
// (a rollout's SIGTERM racing a fresh client) is answered, not dropped:
// net/http alone closes it unanswered once Shutdown has begun.
func TestServeAnswersAConnectionAcceptedBeforeStop(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	accepted := make(chan struct{})
	var once sync.Once
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("answered")) }),
		ConnState: func(c net.Conn, s http.ConnState) {
			if s == http.StateNew {
				once.Do(func() { close(accepted) })
			}
		},
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- toil.Serve(ctx, ln, srv) }()

	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	<-accepted
	cancel()
	// Serve is now draining; the client only now sends its request. Wait
	// until the listener refuses new connections, so the request is surely
	// read after the stop began.
	for {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			break
		}
		c.Close()
		time.Sleep(time.Millisecond)
	}
	if _, err := conn.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("request sent on a connection accepted before the stop got no answer: %v", err)
	}
	var b strings.Builder
	bufio.NewReader(resp.Body).WriteTo(&b)
	resp.Body.Close()
	if resp.StatusCode != 200 || b.String() != "answered" {
		t.Fatalf("got %d %q, want 200 answered", resp.StatusCode, b.String())
	}
	if err := <-done; err != nil {
		t.Fatalf("Serve: %v", err)
	}
}
