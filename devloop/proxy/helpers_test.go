package proxy_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/toilhq/toil/devloop/proxy"
)

// bound is how long any single wait in these tests may take before the
// test fails instead of hanging; it is never what a test asserts.
const bound = 30 * time.Second

// upstream is a real HTTP server on a loopback TCP port or a unix socket,
// standing in for a worker.
type upstream struct {
	id   string
	addr string
	srv  *http.Server
	ln   net.Listener
	done chan struct{}

	mu    sync.Mutex
	conns map[net.Conn]bool
}

// startUpstream serves h on network ("tcp" or "unix") until the test ends.
func startUpstream(t *testing.T, network, id string, h http.Handler) *upstream {
	t.Helper()
	var ln net.Listener
	var err error
	switch network {
	case "unix":
		// Not t.TempDir: its path, named after the test, can pass the
		// 107 bytes a socket path may have.
		dir, derr := os.MkdirTemp("", "toilproxy")
		if derr != nil {
			t.Fatal(derr)
		}
		t.Cleanup(func() { os.RemoveAll(dir) })
		ln, err = net.Listen("unix", filepath.Join(dir, id+".sock"))
	default:
		ln, err = net.Listen("tcp", "127.0.0.1:0")
	}
	if err != nil {
		t.Fatal(err)
	}
	u := &upstream{id: id, addr: ln.Addr().String(), ln: ln, done: make(chan struct{}), conns: map[net.Conn]bool{}}
	u.srv = &http.Server{
		Handler:  h,
		ErrorLog: log.New(io.Discard, "", 0),
		ConnState: func(c net.Conn, s http.ConnState) {
			u.mu.Lock()
			defer u.mu.Unlock()
			switch s {
			case http.StateNew:
				u.conns[c] = true
			case http.StateClosed, http.StateHijacked:
				delete(u.conns, c)
			}
		},
	}
	go func() {
		defer close(u.done)
		u.srv.Serve(ln)
	}()
	t.Cleanup(func() {
		u.srv.Close()
		<-u.done
	})
	return u
}

// backend is u as the proxy sees it.
func (u *upstream) backend() proxy.Backend { return proxy.Backend{ID: u.id, Addr: u.addr} }

// shutdown stops u the way a worker stops on SIGTERM: no new connections,
// running requests finish.
func (u *upstream) shutdown(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), bound)
	defer cancel()
	if err := u.srv.Shutdown(ctx); err != nil {
		t.Errorf("shut down %s: %v", u.id, err)
	}
	<-u.done
}

// kill stops u the way a crashed worker stops: the listener goes away and
// every open connection is reset.
func (u *upstream) kill() {
	u.ln.Close()
	u.mu.Lock()
	for c := range u.conns {
		if tc, ok := c.(*net.TCPConn); ok {
			tc.SetLinger(0) // RST, not FIN
		}
		c.Close()
	}
	u.mu.Unlock()
	u.srv.Close()
	<-u.done
}

// idHandler answers every request with id and the path it saw.
func idHandler(id string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s %s", id, r.URL.Path)
	})
}

// startProxy serves a new proxy on a loopback port until the test ends,
// and checks that Serve then returns nil.
func startProxy(t *testing.T, opts proxy.Options) (*proxy.Proxy, string) {
	t.Helper()
	p := proxy.New(opts)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- p.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-served; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return p, "http://" + ln.Addr().String()
}

// newClient returns an HTTP client with its own connections, no proxy
// from the environment, and a bound on every request.
func newClient(t *testing.T) *http.Client {
	tr := &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 16, DisableCompression: true}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: bound}
}

// get does a GET with the given headers and returns the status, headers and
// body.
func get(t *testing.T, c *http.Client, url string, header ...string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		if strings.EqualFold(header[i], "Host") {
			req.Host = header[i+1]
			continue
		}
		req.Header.Set(header[i], header[i+1])
	}
	res, err := c.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("GET %s: read body: %v", url, err)
	}
	return res.StatusCode, res.Header, string(body)
}

// logs collects the access log.
type logs struct{ ch chan proxy.RequestLog }

func newLogs() *logs { return &logs{ch: make(chan proxy.RequestLog, 10000)} }

func (l *logs) hook(r proxy.RequestLog) { l.ch <- r }

// next returns the next entry. The hook runs when the handler returns,
// which can be just after the client has its response.
func (l *logs) next(t *testing.T) proxy.RequestLog {
	t.Helper()
	select {
	case r := <-l.ch:
		return r
	case <-time.After(bound):
		t.Fatal("no access log entry")
		return proxy.RequestLog{}
	}
}
