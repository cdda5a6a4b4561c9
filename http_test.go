package toil_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/toilhq/toil"
	"github.com/toilhq/toil/toiltest"
)

// webService serves routes registered on its HTTP mixin in Setup.
type webService struct {
	toil.Base[struct{ Greeting string }]

	HTTP toil.HTTP

	entered chan struct{} // /slow has its headers out
	release chan struct{} // lets /slow finish
}

func newWebService() *webService {
	return &webService{entered: make(chan struct{}, 1), release: make(chan struct{})}
}

func (w *webService) Setup(ctx context.Context) error {
	w.HTTP.HandleFunc("GET /hello/{name}", func(rw http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(rw, "%s %s", w.Config().Greeting, r.PathValue("name"))
	})
	w.HTTP.HandleFunc("GET /panic", func(rw http.ResponseWriter, r *http.Request) {
		rw.Header().Set("Content-Type", "application/json")
		panic("the handler broke")
	})
	w.HTTP.HandleFunc("GET /panic-late", func(rw http.ResponseWriter, r *http.Request) {
		io.WriteString(rw, "part of an answer")
		http.NewResponseController(rw).Flush()
		panic("broke mid-answer")
	})
	w.HTTP.HandleFunc("GET /abort", func(rw http.ResponseWriter, r *http.Request) {
		panic(http.ErrAbortHandler)
	})
	w.HTTP.HandleFunc("POST /echo", func(rw http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if mbe := (*http.MaxBytesError)(nil); errors.As(err, &mbe) {
			http.Error(rw, fmt.Sprintf("body over %d bytes", mbe.Limit), http.StatusRequestEntityTooLarge)
			return
		}
		rw.Write(b)
	})
	w.HTTP.HandleFunc("POST /block", func(rw http.ResponseWriter, r *http.Request) {
		// Answer the header now and the body once the client has sent its
		// own: a request a test in another process keeps in flight.
		if err := http.NewResponseController(rw).EnableFullDuplex(); err != nil {
			http.Error(rw, err.Error(), http.StatusInternalServerError)
			return
		}
		rw.WriteHeader(http.StatusOK)
		http.NewResponseController(rw).Flush()
		b, err := io.ReadAll(r.Body)
		fmt.Fprintf(rw, "done:%s", b)
		if err != nil {
			fmt.Fprintf(rw, " (%v)", err)
		}
	})
	w.HTTP.HandleFunc("GET /slow", func(rw http.ResponseWriter, r *http.Request) {
		rw.WriteHeader(http.StatusOK)
		http.NewResponseController(rw).Flush()
		w.entered <- struct{}{}
		<-w.release
		io.WriteString(rw, "done")
	})
	return nil
}

// fetch does one request and returns the status and body.
func fetch(t *testing.T, method, url, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, url, err)
	}
	return resp.StatusCode, string(b)
}

func TestHTTPServesRoutesRecoversPanicsAndCounts(t *testing.T) {
	t.Parallel()
	svc := newWebService()
	s := toiltest.Run(t, svc, toiltest.Name("test.web"),
		toiltest.Config("greeting: hi\nhttp:\n  max_body_bytes: 1KiB"),
		toiltest.With(toil.WithReloadDebounce(0)))
	s.WaitReady()
	if got := svc.HTTP.Addr(); got != s.Addr() {
		t.Errorf("HTTP.Addr() = %q, want the socket toiltest handed over, %s", got, s.Addr())
	}
	if code, body := fetch(t, "GET", s.URL("/hello/ann"), ""); code != 200 || body != "hi ann" {
		t.Errorf("GET /hello/ann = %d %q, want 200 \"hi ann\"", code, body)
	}

	// A panic before the answer: 500, logged with its stack, and the
	// server goes on serving.
	code, body := fetch(t, "GET", s.URL("/panic"), "")
	if code != 500 || body != "500 internal server error\n" {
		t.Errorf("GET /panic = %d %q, want 500", code, body)
	}
	if code, _ := fetch(t, "GET", s.URL("/hello/bob"), ""); code != 200 {
		t.Errorf("GET /hello/bob after a panic = %d, want 200", code)
	}
	logs := s.Logs()
	if !strings.Contains(logs, `msg="panic serving HTTP"`) || !strings.Contains(logs, `panic="the handler broke"`) ||
		!strings.Contains(logs, "http_test.go") {
		t.Errorf("the panic is not logged with its value and stack:\n%s", logs)
	}

	// A panic once the answer has begun cannot become a 500: the
	// connection is cut, so the client does not take half a body for all.
	resp, err := http.Get(s.URL("/panic-late"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadAll(resp.Body); err == nil {
		t.Error("GET /panic-late: the body read cleanly; want it cut off")
	}
	resp.Body.Close()
	// http.ErrAbortHandler aborts quietly, as net/http defines.
	if _, err := http.Get(s.URL("/abort")); err == nil {
		t.Error("GET /abort answered; want the connection cut")
	}
	if strings.Contains(s.Logs(), `route="GET /abort"`) {
		t.Error("http.ErrAbortHandler was logged as a panic")
	}

	// Bodies over max_body_bytes (1KiB here) fail the handler's read.
	if code, body := fetch(t, "POST", s.URL("/echo"), strings.Repeat("x", 2000)); code != 413 || body != "body over 1024 bytes\n" {
		t.Errorf("POST /echo with 2000 bytes = %d %q, want 413", code, body)
	}
	if code, body := fetch(t, "POST", s.URL("/echo"), "small"); code != 200 || body != "small" {
		t.Errorf("POST /echo small = %d %q", code, body)
	}
	if code, _ := fetch(t, "GET", s.URL("/nowhere"), ""); code != 404 {
		t.Errorf("GET /nowhere = %d, want 404", code)
	}

	// max_body_bytes applies on reload, without a restart.
	s.SetConfig("greeting: hi\nhttp:\n  max_body_bytes: 4")
	if err := s.Reload(); err != nil {
		t.Fatal(err)
	}
	if code, _ := fetch(t, "POST", s.URL("/echo"), "small"); code != 413 {
		t.Errorf("POST /echo of 5 bytes after max_body_bytes: 4 = %d, want 413", code)
	}

	_, metrics := fetch(t, "GET", s.AdminURL("/metrics"), "")
	for _, want := range []string{
		`http_server_request_duration_seconds_count{code="200",route="GET /hello/{name}",server="http"} 2`,
		`http_server_request_duration_seconds_count{code="500",route="GET /panic",server="http"} 1`,
		`http_server_request_duration_seconds_count{code="aborted",route="GET /panic-late",server="http"} 1`,
		`http_server_request_duration_seconds_count{code="aborted",route="GET /abort",server="http"} 1`,
		`http_server_request_duration_seconds_count{code="413",route="POST /echo",server="http"} 2`,
		`http_server_request_duration_seconds_count{code="200",route="POST /echo",server="http"} 1`,
		`http_server_request_duration_seconds_count{code="404",route="none",server="http"} 1`,
		`http_server_panics_total{route="GET /panic",server="http"} 1`,
		`http_server_panics_total{route="GET /panic-late",server="http"} 1`,
		`http_server_requests_in_flight{server="http"} 0`,
	} {
		if !strings.Contains(metrics, want+"\n") {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if strings.Contains(metrics, `http_server_panics_total{route="GET /abort"`) {
		t.Error("/metrics counts http.ErrAbortHandler as a panic")
	}
	if code, body := fetch(t, "GET", s.AdminURL("/readyz"), ""); code != 200 {
		t.Errorf("/readyz = %d %q while serving", code, body)
	}
}

func TestHTTPReadHeaderTimeoutCutsSlowClients(t *testing.T) {
	t.Parallel()
	svc := newWebService()
	s := toiltest.Run(t, svc, toiltest.Name("test.web"), toiltest.Config("http:\n  read_header_timeout: 300ms"))
	s.WaitReady()

	conn, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	closed := make(chan []byte, 1)
	go func() {
		b, _ := io.ReadAll(conn) // until the server closes the connection
		closed <- b
	}()
	// The request line at once, then a header a byte every 100ms: its 40
	// bytes would take 4s, less than the default read_header_timeout
	// (5s), far more than the configured 300ms.
	if _, err := io.WriteString(conn, "GET /hello/slow HTTP/1.1\r\n"); err != nil {
		t.Fatal(err)
	}
	header := "Host: web\r\nX-Slow: " + strings.Repeat("a", 40-19)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	sent := 0
	var answer []byte
send:
	for ; sent < len(header); sent++ {
		select {
		case answer = <-closed:
			break send
		case <-tick.C:
		}
		if _, err := conn.Write([]byte{header[sent]}); err != nil {
			answer = <-closed
			break
		}
	}
	if sent == len(header) {
		t.Fatalf("the server let a client spend %d bytes at 10 bytes/s on a header; want it cut off after read_header_timeout (300ms)", sent)
	}
	// net/http closes the connection, answering 400 when the header it
	// had read so far cannot be parsed.
	if len(answer) > 0 && !strings.HasPrefix(string(answer), "HTTP/1.1 400 Bad Request\r\n") {
		t.Errorf("the slow client got an answer: %q", answer)
	}
	// Others are still served.
	if code, body := fetch(t, "GET", s.URL("/hello/fast"), ""); code != 200 || body != " fast" {
		t.Errorf("GET /hello/fast = %d %q", code, body)
	}
}

func TestHTTPStopDrainsInFlightRequest(t *testing.T) {
	t.Parallel()
	svc := newWebService()
	s := toiltest.Run(t, svc, toiltest.Name("test.web"))
	s.WaitReady()

	resp, err := http.Get(s.URL("/slow"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	<-svc.entered
	stopped := make(chan error, 1)
	go func() { stopped <- s.Stop() }()
	waitRefused(t, s.Addr())
	select {
	case err := <-stopped:
		t.Fatalf("Stop returned (%v) with a request in flight", err)
	default:
	}
	close(svc.release)
	body, err := io.ReadAll(resp.Body)
	if err != nil || string(body) != "done" {
		t.Errorf("the in-flight request ended with %q, %v; want done", body, err)
	}
	if err := <-stopped; err != nil {
		t.Errorf("Stop: %v", err)
	}
	if !strings.Contains(s.Logs(), `msg="draining HTTP" service=test.web worker=1 mixin=HTTP in_flight=1`) {
		t.Errorf("no drain line with the request in flight:\n%s", s.Logs())
	}
}

// waitRefused waits until addr refuses connections: the server has stopped
// accepting.
func waitRefused(t *testing.T, addr string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			return
		}
		c.Close()
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("%s still accepts connections 10s after Stop", addr)
}

// twoServers serves public routes on HTTP and internal ones on Internal.
type twoServers struct {
	toil.Base[struct{}]

	HTTP     toil.HTTP
	Internal toil.HTTP
}

func (s *twoServers) Setup(ctx context.Context) error {
	s.HTTP.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "public") })
	s.Internal.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "internal") })
	return nil
}

func TestHTTPTwoFieldsTakeTheirOwnSockets(t *testing.T) {
	t.Parallel()
	internal, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	svc := &twoServers{}
	s := toiltest.Run(t, svc, toiltest.Name("test.two"), toiltest.With(toil.WithListener("internal", internal)))
	s.WaitReady()
	if _, body := fetch(t, "GET", s.URL("/"), ""); body != "public" {
		t.Errorf("the http socket serves %q, want public", body)
	}
	if _, body := fetch(t, "GET", "http://"+svc.Internal.Addr()+"/", ""); body != "internal" {
		t.Errorf("the internal socket serves %q, want internal", body)
	}
	_, metrics := fetch(t, "GET", s.AdminURL("/metrics"), "")
	if !strings.Contains(metrics, `http_server_request_duration_seconds_count{code="200",route="/",server="internal"} 1`) {
		t.Errorf("/metrics does not tell the internal server apart:\n%s", metrics)
	}

	// Without its socket and without an address, the second field says
	// what to set; it never takes PORT or the first field's socket.
	s2 := toiltest.Run(t, &twoServers{}, toiltest.Name("test.two"), toiltest.Env("PORT=0"))
	err = s2.Err()
	want := "setup: field Internal (ToilPreSetup): serve HTTP: listen: no inherited socket named internal and no address: set internal.addr in the config"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("Run without the internal socket = %v, want %q", err, want)
	}

	// With an address configured, it listens there.
	s3 := toiltest.Run(t, &twoServers{}, toiltest.Name("test.two"), toiltest.Config("internal: {addr: 127.0.0.1:0}"))
	s3.WaitReady()
}

// handlerAndRoutes has its own handler and registers routes too: toil
// cannot know which to serve.
type handlerAndRoutes struct {
	toil.Base[struct{}]

	HTTP toil.HTTP
}

func (h *handlerAndRoutes) Setup(ctx context.Context) error {
	h.HTTP.HandleFunc("/x", func(http.ResponseWriter, *http.Request) {})
	return nil
}

func (h *handlerAndRoutes) Handler() http.Handler { return http.NotFoundHandler() }

// nothingToServe has an HTTP field and no routes.
type nothingToServe struct {
	toil.Base[struct{}]

	HTTP toil.HTTP
}

func TestHTTPSetupErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		svc    any
		config string
		want   string
	}{
		{"handler and routes", &handlerAndRoutes{}, "",
			"setup: field HTTP (ToilPostSetup): serve HTTP: the service has its own handler (*toil_test.handlerAndRoutes has Handler() or ServeHTTP) and routes registered with HTTP.Handle; serve one"},
		{"no routes", &nothingToServe{}, "",
			"setup: field HTTP (ToilPostSetup): serve HTTP: nothing to serve: register routes with s.HTTP.Handle in Setup, or give *toil_test.nothingToServe a Handler() http.Handler or ServeHTTP method"},
		{"zero body limit", &nothingToServe{}, "http: {max_body_bytes: 0}",
			"config test.bad.http: max_body_bytes is 0: want a size above 0, e.g. 10MiB, or -1 for no limit"},
		{"negative timeout", &nothingToServe{}, "http: {read_header_timeout: -1s}",
			"config test.bad.http: read_header_timeout is -1s: want a duration of 0 or more"},
		{"bad size", &nothingToServe{}, "http: {max_header_bytes: 12XB}",
			`test.bad.http.max_header_bytes: "12XB" is not a toil.ByteSize`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := toiltest.Run(t, tc.svc, toiltest.Name("test.bad"), toiltest.Config(tc.config))
			if err := s.Err(); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Run = %v\nwant %q", err, tc.want)
			}
		})
	}
}

func TestByteSize(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want toil.ByteSize
		str  string
	}{
		{"512", 512, "512"},
		{"64KiB", 64 << 10, "64KiB"},
		{"10 MiB", 10 << 20, "10MiB"},
		{"1gib", 1 << 30, "1GiB"},
		{"10KB", 10000, "10000"},
		{"5MB", 5000000, "5000000"},
		{"2M", 2 << 20, "2MiB"},
		{"-1", -1, "-1"},
	} {
		var b toil.ByteSize
		if err := b.UnmarshalText([]byte(tc.in)); err != nil || b != tc.want || b.String() != tc.str {
			t.Errorf("ByteSize %q = %d (%s), %v; want %d (%s)", tc.in, b, b, err, tc.want, tc.str)
		}
	}
	for _, bad := range []string{"", "KiB", "1.5MiB", "12XB", "99999999999TiB"} {
		var b toil.ByteSize
		if err := b.UnmarshalText([]byte(bad)); err == nil {
			t.Errorf("ByteSize %q = %d, want an error", bad, b)
		}
	}
}

// TestHTTPHelperProcess is the worker of TestHTTPWorkerOnInheritedSocket:
// this test binary, run again with TOIL_HTTP_TEST_WORKER=1. Run any other
// way it does nothing.
func TestHTTPHelperProcess(t *testing.T) {
	if os.Getenv("TOIL_HTTP_TEST_WORKER") != "1" {
		return
	}
	if code := toil.MainExit("test.web", newWebService(), nil, io.Discard, os.Stderr); code != 0 {
		t.Fatalf("worker exit %d", code)
	}
}

func TestHTTPWorkerOnInheritedSocket(t *testing.T) {
	t.Parallel()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	lnFile, err := ln.(*net.TCPListener).File()
	if err != nil {
		t.Fatal(err)
	}
	ln.Close()
	notify := listenNotify(t)

	// systemd names a socket after its unit unless told otherwise: the
	// worker's only socket is its HTTP socket, whatever its name.
	cmd := exec.Command("/bin/sh", "-c", `LISTEN_PID=$$ exec "$0" "$@"`, exe, "-test.run=^TestHTTPHelperProcess$")
	cmd.Env = []string{"TOIL_HTTP_TEST_WORKER=1", "LISTEN_FDS=1", "LISTEN_FDNAMES=web.socket",
		"NOTIFY_SOCKET=" + notify.name, "TOIL_TEST_WEB_GREETING=hi"}
	cmd.ExtraFiles = []*os.File{lnFile} // fd 3
	var stderr lockedBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lnFile.Close()
	exited := make(chan struct{})
	var exitErr error
	go func() { exitErr = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
	})
	notify.expect(t, "READY=1")

	if code, body := fetch(t, "GET", "http://"+addr+"/hello/ann", ""); code != 200 || body != "hi ann" {
		t.Errorf("GET /hello/ann = %d %q, want 200 \"hi ann\"", code, body)
	}
	if code, _ := fetch(t, "GET", "http://"+addr+"/panic", ""); code != 500 {
		t.Errorf("GET /panic = %d, want 500", code)
	}
	if code, body := fetch(t, "GET", "http://"+addr+"/hello/bob", ""); code != 200 || body != "hi bob" {
		t.Errorf("GET /hello/bob after a panic = %d %q: the worker stopped serving", code, body)
	}

	// A request in flight at SIGTERM: headers answered, the handler
	// waiting for a body the test sends only once the worker has stopped
	// accepting.
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /block HTTP/1.1\r\nHost: web\r\nContent-Length: 5\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST /block: %s", resp.Status)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	notify.expect(t, "STOPPING=1")
	waitRefused(t, addr)
	select {
	case <-exited:
		t.Fatalf("the worker exited (%v) with a request in flight", exitErr)
	default:
	}
	io.WriteString(conn, "hello")
	if body, err := io.ReadAll(resp.Body); err != nil || string(body) != "done:hello" {
		t.Errorf("the in-flight request ended with %q, %v; want done:hello", body, err)
	}
	<-exited
	if exitErr != nil {
		t.Errorf("worker exit: %v, want status 0\n%s", exitErr, stderr.String())
	}
	if log := stderr.String(); !strings.Contains(log, `"msg":"panic serving HTTP"`) || !strings.Contains(log, "http_test.go") {
		t.Errorf("the worker did not log the panic with its stack:\n%s", log)
	}
}

func TestHTTPListenChoices(t *testing.T) {
	t.Parallel()
	run := func(svc any, opts ...toil.Option) error {
		ctl := toil.NewControl()
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		opts = append([]toil.Option{toil.WithConfigFile(""), toil.WithAdminAddr(""), toil.WithLogOutput(t.Output()), toil.WithControl(ctl)}, opts...)
		errc := make(chan error, 1)
		go func() { errc <- toil.Run(ctx, "test.web", svc, opts...) }()
		select {
		case <-ctl.Ready():
			cancel()
			return <-errc
		case err := <-errc:
			return err
		}
	}
	loopback := func() net.Listener {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		return ln
	}

	// Several inherited sockets, none named for the service: say which.
	err := run(newWebService(), toil.WithEnv(), toil.WithListener("a", loopback()), toil.WithListener("b", loopback()))
	want := "serve HTTP: listen: no inherited socket and no address: set PORT, pass a socket named http through LISTEN_FDS, or set http.addr in the config (the inherited sockets are a, b; none is named http or test.web)"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("Run with sockets a and b = %v\nwant %q", err, want)
	}

	// One named after the service is the HTTP field's.
	svc := newWebService()
	ln := loopback()
	if err := run(svc, toil.WithEnv(), toil.WithListener("test.web", ln), toil.WithListener("other", loopback())); err != nil {
		t.Fatal(err)
	}
	if svc.HTTP.Addr() != ln.Addr().String() {
		t.Errorf("HTTP served on %s, want the socket named test.web, %s", svc.HTTP.Addr(), ln.Addr())
	}

	// Without inherited sockets, PORT wins over the configured addr.
	free := loopback()
	port := free.Addr().(*net.TCPAddr).Port
	free.Close()
	svc = newWebService()
	if err := run(svc, toil.WithEnv(fmt.Sprintf("PORT=%d", port), "TOIL_TEST_WEB_HTTP_ADDR=127.0.0.1:0")); err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(svc.HTTP.Addr(), fmt.Sprintf(":%d", port)) {
		t.Errorf("HTTP served on %s, want PORT %d", svc.HTTP.Addr(), port)
	}
}
