package proxy_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/toilhq/toil/devloop/proxy"
)

func TestRoutesByLongestPrefix(t *testing.T) {
	t.Parallel()
	p, url := startProxy(t, proxy.Options{})
	for _, svc := range []string{"web", "api", "v2"} {
		u := startUpstream(t, "tcp", svc, idHandler(svc))
		if err := p.SetBackends(svc, []proxy.Backend{u.backend()}); err != nil {
			t.Fatal(err)
		}
	}
	err := p.SetRoutes([]proxy.Route{
		{Path: "/", Service: "web"},
		{Path: "/api/", Service: "api"},
		{Path: "/api/v2", Service: "v2", StripPrefix: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	c := newClient(t)
	for _, tc := range []struct{ path, want string }{
		{"/", "web /"},
		{"/index.html", "web /index.html"},
		{"/api", "api /api"},
		{"/api/", "api /api/"},
		{"/api/users/7", "api /api/users/7"},
		{"/apix", "web /apix"},                 // whole segments only
		{"/api/v2", "v2 /"},                    // stripped to the root
		{"/api/v2/ads", "v2 /ads"},             // stripped
		{"/api/v2x", "api /api/v2x"},           // not under /api/v2
		{"/api/../admin", "web /api/../admin"}, // matched cleaned, sent as is
		{"/api//v2/ads", "v2 /ads"},            // cleaned, then stripped
	} {
		code, _, body := get(t, c, url+tc.path)
		if code != http.StatusOK || body != tc.want {
			t.Errorf("GET %s = %d %q, want 200 %q", tc.path, code, body, tc.want)
		}
	}

	// A table without "/" leaves other paths unrouted: a 404 page listing
	// the routes, not Go's "404 page not found".
	if err := p.SetRoutes([]proxy.Route{{Path: "/api", Service: "api"}}); err != nil {
		t.Fatal(err)
	}
	code, _, body := get(t, c, url+"/elsewhere")
	if code != http.StatusNotFound || !strings.Contains(body, "no route for /elsewhere") || !strings.Contains(body, "/api -> api") {
		t.Errorf("GET /elsewhere = %d %q, want 404 naming the path and listing the routes", code, body)
	}
}

func TestSetRoutesRejectsBadTables(t *testing.T) {
	t.Parallel()
	p := proxy.New(proxy.Options{})
	good := []proxy.Route{{Path: "/", Service: "web"}}
	if err := p.SetRoutes(good); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		routes []proxy.Route
		want   string
	}{
		{[]proxy.Route{{Path: "api", Service: "api"}}, `path "api" does not start with "/"`},
		{[]proxy.Route{{Path: "/api", Service: ""}}, "no service"},
		{[]proxy.Route{{Path: "/api", Service: "a"}, {Path: "/api/", Service: "b"}}, `path "/api/" is routed twice`},
	} {
		err := p.SetRoutes(tc.routes)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("SetRoutes(%v) = %v, want an error containing %q", tc.routes, err, tc.want)
		}
	}
	if got := p.Routes(); len(got) != 1 || got[0] != good[0] {
		t.Errorf("after rejected tables Routes() = %v, want the last good one %v", got, good)
	}
}

func TestSetBackendsRejectsBadSets(t *testing.T) {
	t.Parallel()
	p := proxy.New(proxy.Options{})
	for _, tc := range []struct {
		set  []proxy.Backend
		want string
	}{
		{[]proxy.Backend{{ID: "a"}}, "has no address"},
		{[]proxy.Backend{{ID: "a", Addr: "localhost"}}, "want host:port, or a unix socket path"},
		{[]proxy.Backend{{ID: "a", Addr: "127.0.0.1:1"}, {ID: "a", Addr: "127.0.0.1:2"}}, `two backends are named "a"`},
	} {
		err := p.SetBackends("web", tc.set)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("SetBackends(%v) = %v, want an error containing %q", tc.set, err, tc.want)
		}
	}
}

func TestForwardedAndHopByHopHeaders(t *testing.T) {
	t.Parallel()
	u := startUpstream(t, "tcp", "web", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Connection", "X-Backend-Hop")
		w.Header().Set("X-Backend-Hop", "must not reach the client")
		w.Header().Set("X-Backend-End", "reaches the client")
		json.NewEncoder(w).Encode(map[string]string{
			"host":   r.Host,
			"xff":    r.Header.Get("X-Forwarded-For"),
			"xfhost": r.Header.Get("X-Forwarded-Host"),
			"xfp":    r.Header.Get("X-Forwarded-Proto"),
			"xfpfx":  r.Header.Get("X-Forwarded-Prefix"),
			"hop":    r.Header.Get("X-Client-Hop"),
			"end":    r.Header.Get("X-Client-End"),
			"path":   r.URL.RequestURI(),
		})
	}))
	p, url := startProxy(t, proxy.Options{})
	p.SetBackends("web", []proxy.Backend{u.backend()})
	p.SetRoutes([]proxy.Route{{Path: "/app", Service: "web", StripPrefix: true}})

	code, h, body := get(t, newClient(t), url+"/app/x?q=1&n=%zz;a=b",
		"Host", "shop.test:8000",
		"X-Forwarded-For", "10.0.0.1",
		"Connection", "X-Client-Hop",
		"X-Client-Hop", "must not reach the worker",
		"X-Client-End", "reaches the worker")
	if code != http.StatusOK {
		t.Fatalf("status %d: %s", code, body)
	}
	var got map[string]string
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"host":   "shop.test:8000",
		"xff":    "10.0.0.1, 127.0.0.1",
		"xfhost": "shop.test:8000",
		"xfp":    "http",
		"xfpfx":  "/app",
		"hop":    "",
		"end":    "reaches the worker",
		"path":   "/x?q=1&n=%zz;a=b", // the query as sent, unparsable parts too, as nginx passes it
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("worker saw %s = %q, want %q", k, got[k], v)
		}
	}
	if h.Get("X-Backend-Hop") != "" || h.Get("X-Backend-End") == "" {
		t.Errorf("client got X-Backend-Hop %q and X-Backend-End %q; want the hop-by-hop one dropped, the other kept",
			h.Get("X-Backend-Hop"), h.Get("X-Backend-End"))
	}
}

func TestStaleHeaderSetAndCleared(t *testing.T) {
	t.Parallel()
	u := startUpstream(t, "tcp", "web", idHandler("web"))
	p, url := startProxy(t, proxy.Options{})
	p.SetBackends("web", []proxy.Backend{u.backend()})
	p.SetRoutes([]proxy.Route{{Path: "/", Service: "web"}, {Path: "/api", Service: "api"}})
	c := newClient(t)

	if _, h, _ := get(t, c, url+"/"); h.Values(proxy.StaleHeader) != nil {
		t.Errorf("fresh build: %s = %q, want none", proxy.StaleHeader, h.Values(proxy.StaleHeader))
	}
	p.SetStale("web", "web build failed 12:03:04\n./main.go:3: undefined: x")
	code, h, _ := get(t, c, url+"/")
	if want := "web build failed 12:03:04 ./main.go:3: undefined: x"; code != 200 || h.Get(proxy.StaleHeader) != want {
		t.Errorf("stale: %d %s = %q, want 200 %q", code, proxy.StaleHeader, h.Get(proxy.StaleHeader), want)
	}
	// Stale is per service, and also marks the proxy's own pages.
	p.SetStale("api", "api build failed")
	if _, h, _ := get(t, c, url+"/api"); h.Get(proxy.StaleHeader) != "api build failed" {
		t.Errorf("api 502 page: %s = %q, want %q", proxy.StaleHeader, h.Get(proxy.StaleHeader), "api build failed")
	}
	p.SetStale("web", "")
	if _, h, _ := get(t, c, url+"/"); h.Values(proxy.StaleHeader) != nil {
		t.Errorf("after clearing: %s = %q, want none", proxy.StaleHeader, h.Values(proxy.StaleHeader))
	}
}

// TestStaleDecidedByResponse: a request that came while the service was
// stale, answered after it stopped being (its first new worker got ready
// and answered it), carries no X-Toil-Stale: a response from new code never
// does.
func TestStaleDecidedByResponse(t *testing.T) {
	t.Parallel()
	p, url := startProxy(t, proxy.Options{})
	// The backend is the socket old and new workers share: the request
	// reaches it while stale, and the new worker, ready, answers it.
	u := startUpstream(t, "tcp", "web", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.SetStale("web", "")
		fmt.Fprint(w, "new code")
	}))
	p.SetBackends("web", []proxy.Backend{u.backend()})
	p.SetRoutes([]proxy.Route{{Path: "/", Service: "web"}})
	p.SetStale("web", "building: source changed at 12:03:04")
	code, h, body := get(t, newClient(t), url+"/")
	if code != http.StatusOK || body != "new code" {
		t.Fatalf("GET / = %d %q, want 200 %q", code, body, "new code")
	}
	if v := h.Values(proxy.StaleHeader); v != nil {
		t.Errorf("a response from the new code carries %s: %q", proxy.StaleHeader, v)
	}
}

func TestUnavailablePages(t *testing.T) {
	t.Parallel()
	p, url := startProxy(t, proxy.Options{})
	p.SetRoutes([]proxy.Route{{Path: "/", Service: "web"}})
	buildErr := "./main.go:3:2: undefined: <script>alert(1)</script> & co"
	p.SetBuildError("web", buildErr)
	c := newClient(t)

	t.Run("html", func(t *testing.T) {
		code, h, body := get(t, c, url+"/", "Accept", "text/html,application/xhtml+xml;q=0.9")
		if code != http.StatusBadGateway || !strings.HasPrefix(h.Get("Content-Type"), "text/html") {
			t.Fatalf("got %d %s, want 502 text/html", code, h.Get("Content-Type"))
		}
		for _, want := range []string{"web is not running", "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co", "Last build error"} {
			if !strings.Contains(body, want) {
				t.Errorf("page lacks %q:\n%s", want, body)
			}
		}
		if strings.Contains(body, "<script>") {
			t.Errorf("page has the build error unescaped:\n%s", body)
		}
	})
	t.Run("text", func(t *testing.T) {
		code, h, body := get(t, c, url+"/", "Accept", "*/*")
		if code != http.StatusBadGateway || !strings.HasPrefix(h.Get("Content-Type"), "text/plain") {
			t.Fatalf("got %d %s, want 502 text/plain", code, h.Get("Content-Type"))
		}
		if !strings.Contains(body, "web is not running") || !strings.Contains(body, buildErr) {
			t.Errorf("text page lacks the service or the build error as written:\n%s", body)
		}
	})
	t.Run("refused", func(t *testing.T) {
		// Both backends' ports are closed: each refuses.
		var set []proxy.Backend
		for i := range 2 {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			set = append(set, proxy.Backend{ID: fmt.Sprintf("web.%d", i+1), Addr: ln.Addr().String()})
			ln.Close()
		}
		p.SetBackends("web", set)
		code, _, body := get(t, c, url+"/")
		if code != http.StatusBadGateway || !strings.Contains(body, "web is not answering") || !strings.Contains(body, "connection refused") {
			t.Errorf("got %d:\n%s\nwant 502 saying no worker of web answered, and why", code, body)
		}
		p.SetBackends("web", nil)
	})
	t.Run("starting", func(t *testing.T) {
		p.SetStarting("web", true)
		defer p.SetStarting("web", false)
		code, h, body := get(t, c, url+"/")
		if code != http.StatusServiceUnavailable || h.Get("Retry-After") == "" || !strings.Contains(body, "web is starting") {
			t.Errorf("got %d Retry-After %q:\n%s\nwant 503 with Retry-After, saying web is starting", code, h.Get("Retry-After"), body)
		}
	})
}

func TestAccessLogAndMetrics(t *testing.T) {
	t.Parallel()
	u := startUpstream(t, "tcp", "web.1", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/app/missing" {
			http.NotFound(w, r)
			return
		}
		io.WriteString(w, "hello")
	}))
	reg := prometheus.NewRegistry()
	l := newLogs()
	p, url := startProxy(t, proxy.Options{Registerer: reg, Log: l.hook})
	p.SetBackends("web", []proxy.Backend{u.backend()})
	p.SetRoutes([]proxy.Route{{Path: "/app", Service: "web"}})
	c := newClient(t)

	for range 3 {
		get(t, c, url+"/app/hello")
	}
	get(t, c, url+"/app/missing")
	get(t, c, url+"/nowhere")

	for range 3 {
		e := l.next(t)
		if e.Method != "GET" || e.Path != "/app/hello" || e.Status != 200 || e.Backend != "web.1" ||
			e.Route != "/app" || e.Service != "web" || e.Bytes != 5 || e.Attempts != 1 || e.Duration <= 0 {
			t.Errorf("log entry %+v, want GET /app/hello 200 from web.1 on /app, 5 bytes, 1 attempt", e)
		}
	}
	if e := l.next(t); e.Status != 404 || e.Backend != "web.1" {
		t.Errorf("log entry %+v, want the worker's 404 from web.1", e)
	}
	if e := l.next(t); e.Status != 404 || e.Backend != "" || e.Route != "" {
		t.Errorf("log entry %+v, want the proxy's own 404, no backend, no route", e)
	}

	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	requests := map[string]float64{}
	var upstream uint64
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			switch mf.GetName() {
			case "toil_proxy_requests_total":
				requests[labels(m)] = m.GetCounter().GetValue()
			case "toil_proxy_upstream_seconds":
				upstream += m.GetHistogram().GetSampleCount()
			}
		}
	}
	want := map[string]float64{
		"code=200,route=/app,service=web": 3,
		"code=404,route=/app,service=web": 1,
		"code=404,route=,service=":        1,
	}
	for k, v := range want {
		if requests[k] != v {
			t.Errorf("toil_proxy_requests_total{%s} = %v, want %v (all: %v)", k, requests[k], v, requests)
		}
	}
	if upstream != 4 {
		t.Errorf("toil_proxy_upstream_seconds count = %d, want 4", upstream)
	}
}

func labels(m *dto.Metric) string {
	var s []string
	for _, l := range m.GetLabel() {
		s = append(s, l.GetName()+"="+l.GetValue())
	}
	return strings.Join(s, ",")
}

func TestReadTimeoutCutsASilentStream(t *testing.T) {
	t.Parallel()
	u := startUpstream(t, "tcp", "web", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "first\n")
		w.(http.Flusher).Flush()
		<-r.Context().Done() // silent until the proxy gives up on it
	}))
	// A short timeout so the test is quick; what is asserted is the cut.
	p, url := startProxy(t, proxy.Options{ReadTimeout: 100e6})
	p.SetBackends("web", []proxy.Backend{u.backend()})
	p.SetRoutes([]proxy.Route{{Path: "/", Service: "web"}})

	res, err := newClient(t).Get(url + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if string(body) != "first\n" || err == nil {
		t.Errorf("read %q, %v; want the first line, then an error: a silent worker is cut, not waited for", body, err)
	}
}

func TestServeDrainsRequestsOnShutdown(t *testing.T) {
	t.Parallel()
	entered, release := make(chan struct{}), make(chan struct{})
	u := startUpstream(t, "tcp", "web", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/stream" {
			w.Header().Set("Content-Type", "text/event-stream")
			io.WriteString(w, "data: open\n\n")
			w.(http.Flusher).Flush()
			<-r.Context().Done()
			return
		}
		close(entered)
		<-release
		io.WriteString(w, "finished")
	}))
	p := proxy.New(proxy.Options{ShutdownTimeout: 200e6})
	p.SetBackends("web", []proxy.Backend{u.backend()})
	p.SetRoutes([]proxy.Route{{Path: "/", Service: "web"}})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	served := make(chan error, 1)
	go func() { served <- p.Serve(ctx, ln) }()
	url := "http://" + ln.Addr().String()
	c := newClient(t)

	// A stream open at shutdown is cut when the shutdown time is up, so
	// Serve returns.
	stream, err := c.Get(url + "/stream")
	if err != nil {
		t.Fatal(err)
	}
	defer stream.Body.Close()
	line := make([]byte, len("data: open\n\n"))
	if _, err := io.ReadFull(stream.Body, line); err != nil {
		t.Fatal(err)
	}

	type result struct {
		body string
		err  error
	}
	slow := make(chan result, 1)
	go func() {
		res, err := c.Get(url + "/slow")
		if err != nil {
			slow <- result{err: err}
			return
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		slow <- result{string(b), err}
	}()
	<-entered
	cancel()
	close(release)
	if r := <-slow; r.err != nil || r.body != "finished" {
		t.Errorf("request running at shutdown: %q, %v; want it finished", r.body, r.err)
	}
	if err := <-served; err != nil {
		t.Errorf("Serve = %v, want nil after a shutdown by its context", err)
	}
	if _, err := io.ReadAll(stream.Body); err == nil {
		t.Errorf("stream open at shutdown ended cleanly; want it cut")
	}
	if res, err := c.Get(url + "/"); err == nil {
		res.Body.Close()
		t.Errorf("GET after Serve returned: %s, want an error: the listener is closed", res.Status)
	}
}
