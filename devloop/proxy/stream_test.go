package proxy_test

import (
	"bufio"
	"crypto/sha256"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/websocket"

	"github.com/toilhq/toil/devloop/proxy"
)

func TestServerSentEventsArriveOneByOne(t *testing.T) {
	t.Parallel()
	const events = 3
	next := make(chan struct{})
	u := startUpstream(t, "unix", "web", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		for i := range events {
			fmt.Fprintf(w, "data: event %d\n\n", i)
			w.(http.Flusher).Flush()
			// The handler goes on only once the client has the event: a
			// proxy that buffers would leave both waiting.
			select {
			case <-next:
			case <-r.Context().Done():
				return
			}
		}
	}))
	p, url := startProxy(t, proxy.Options{})
	p.SetBackends("web", []proxy.Backend{u.backend()})
	p.SetRoutes([]proxy.Route{{Path: "/", Service: "web"}})

	res, err := newClient(t).Get(url + "/events")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	br := bufio.NewReader(res.Body)
	for i := range events {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
		if want := fmt.Sprintf("data: event %d\n", i); line != want {
			t.Fatalf("event %d: got %q, want %q", i, line, want)
		}
		if blank, err := br.ReadString('\n'); err != nil || blank != "\n" {
			t.Fatalf("event %d: end %q, %v", i, blank, err)
		}
		next <- struct{}{}
	}
	if rest, err := io.ReadAll(br); err != nil || len(rest) != 0 {
		t.Errorf("after the events: %q, %v; want a clean end", rest, err)
	}
}

func TestWebSocketEcho(t *testing.T) {
	t.Parallel()
	u := startUpstream(t, "tcp", "ws.1", websocket.Handler(func(c *websocket.Conn) {
		for {
			var msg string
			if websocket.Message.Receive(c, &msg) != nil || websocket.Message.Send(c, msg) != nil {
				return
			}
		}
	}))
	l := newLogs()
	p, url := startProxy(t, proxy.Options{Log: l.hook})
	p.SetBackends("ws", []proxy.Backend{u.backend()})
	p.SetRoutes([]proxy.Route{{Path: "/ws", Service: "ws"}})

	host := strings.TrimPrefix(url, "http://")
	cfg, err := websocket.NewConfig("ws://"+host+"/ws", url+"/")
	if err != nil {
		t.Fatal(err)
	}
	ws, err := websocket.DialConfig(cfg)
	if err != nil {
		t.Fatalf("WebSocket handshake through the proxy: %v", err)
	}
	ws.SetDeadline(time.Now().Add(bound))
	for _, msg := range []string{"hello", "second message", strings.Repeat("x", 100_000)} {
		if err := websocket.Message.Send(ws, msg); err != nil {
			t.Fatalf("send: %v", err)
		}
		var got string
		if err := websocket.Message.Receive(ws, &got); err != nil {
			t.Fatalf("receive: %v", err)
		}
		if got != msg {
			t.Fatalf("echo of %d bytes: got %d bytes", len(msg), len(got))
		}
	}
	ws.Close()
	if e := l.next(t); e.Status != http.StatusSwitchingProtocols || e.Backend != "ws.1" {
		t.Errorf("log entry %+v, want 101 from ws.1", e)
	}
}

// random returns n bytes of a fixed pseudo-random stream, as a reader.
func random(n int64) io.Reader {
	return io.LimitReader(rand.NewChaCha8([32]byte{1, 2, 3}), n)
}

func TestLargeBodiesStream(t *testing.T) {
	t.Parallel()
	const size = 32 << 20
	u := startUpstream(t, "tcp", "files", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			h := sha256.New()
			n, err := io.Copy(h, r.Body)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			fmt.Fprintf(w, "%d %x", n, h.Sum(nil))
			return
		}
		// No Content-Length: a chunked stream the proxy must pass as it
		// comes.
		io.Copy(w, random(size))
	}))
	p, url := startProxy(t, proxy.Options{})
	p.SetBackends("files", []proxy.Backend{u.backend()})
	p.SetRoutes([]proxy.Route{{Path: "/", Service: "files"}})
	c := newClient(t)

	want := sha256.New()
	io.Copy(want, random(size))

	res, err := c.Get(url + "/big")
	if err != nil {
		t.Fatal(err)
	}
	got := sha256.New()
	n, err := io.Copy(got, res.Body)
	res.Body.Close()
	if err != nil || n != size || string(got.Sum(nil)) != string(want.Sum(nil)) {
		t.Errorf("download: %d bytes, %v, hash match %v; want %d bytes intact", n, err, string(got.Sum(nil)) == string(want.Sum(nil)), size)
	}

	// An upload of unknown length (chunked) reaches the worker intact.
	req, err := http.NewRequest(http.MethodPost, url+"/upload", io.NopCloser(random(size)))
	if err != nil {
		t.Fatal(err)
	}
	res, err = c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if w := fmt.Sprintf("%d %x", size, want.Sum(nil)); string(body) != w {
		t.Errorf("upload: worker saw %q, want %q", body, w)
	}
}
