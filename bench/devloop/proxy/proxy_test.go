// Package proxy benchmarks the toil dev front proxy (devloop/proxy) against
// the same backend reached directly: see README.md for the command and the
// recorded results.
package proxy

import (
	"context"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/toilhq/toil/devloop/proxy"
)

// body is what the backend answers: a small JSON-sized response, so the
// benchmark measures the proxy, not the copying.
var body = []byte(`{"ad":"a1b2c3","price":0.42,"ttl":30}`)

// serve serves a tiny handler on ln until the benchmark ends.
func serve(b *testing.B, ln net.Listener, h http.Handler) {
	srv := &http.Server{Handler: h, ErrorLog: log.New(io.Discard, "", 0)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv.Serve(ln)
	}()
	b.Cleanup(func() {
		srv.Close()
		<-done
	})
}

func listen(b *testing.B, network string) net.Listener {
	addr := "127.0.0.1:0"
	if network == "unix" {
		dir, err := os.MkdirTemp("", "toilbench")
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { os.RemoveAll(dir) })
		addr = filepath.Join(dir, "web.sock")
	}
	ln, err := net.Listen(network, addr)
	if err != nil {
		b.Fatal(err)
	}
	return ln
}

// setup starts the backend on network and, unless direct, the proxy in
// front of it; it returns the URL a client uses.
func setup(b *testing.B, network string, direct bool) string {
	backend := listen(b, network)
	serve(b, backend, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(body)
	}))
	if direct {
		return "http://" + backend.Addr().String() + "/ad"
	}
	p := proxy.New(proxy.Options{})
	if err := p.SetRoutes([]proxy.Route{{Path: "/", Service: "web"}}); err != nil {
		b.Fatal(err)
	}
	if err := p.SetBackends("web", []proxy.Backend{{ID: "web", Addr: backend.Addr().String()}}); err != nil {
		b.Fatal(err)
	}
	front := listen(b, "tcp")
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- p.Serve(ctx, front) }()
	b.Cleanup(func() {
		cancel()
		if err := <-served; err != nil {
			b.Error(err)
		}
	})
	return "http://" + front.Addr().String() + "/ad"
}

// BenchmarkProxy sends GETs to a tiny backend directly and through the
// proxy, side by side: "parallel" with 8 concurrent clients (throughput),
// "serial" with one (latency without queueing). Each reports requests/s and
// the p50 and p99 latency seen by the client.
func BenchmarkProxy(b *testing.B) {
	for _, mode := range []string{"serial", "parallel"} {
		for _, tc := range []struct {
			name    string
			network string
			direct  bool
		}{
			{"direct", "tcp", true},
			{"proxy-tcp", "tcp", false},
			{"proxy-unix", "unix", false},
		} {
			b.Run(mode+"/"+tc.name, func(b *testing.B) {
				url := setup(b, tc.network, tc.direct)
				tr := &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 64, DisableCompression: true}
				defer tr.CloseIdleConnections()
				c := &http.Client{Transport: tr}
				get := func() time.Duration {
					start := time.Now()
					res, err := c.Get(url)
					if err != nil {
						b.Fatal(err)
					}
					io.Copy(io.Discard, res.Body)
					res.Body.Close()
					if res.StatusCode != http.StatusOK {
						b.Fatalf("status %d", res.StatusCode)
					}
					return time.Since(start)
				}
				get() // connect outside the timing

				var mu sync.Mutex
				var lat []time.Duration
				b.ResetTimer()
				if mode == "serial" {
					for b.Loop() {
						lat = append(lat, get())
					}
				} else {
					// 8 clients on 2 cores, as issue 5's load test.
					b.SetParallelism(max(1, 8/runtimeProcs()))
					b.RunParallel(func(pb *testing.PB) {
						var mine []time.Duration
						for pb.Next() {
							mine = append(mine, get())
						}
						mu.Lock()
						lat = append(lat, mine...)
						mu.Unlock()
					})
				}
				b.StopTimer()
				slices.Sort(lat)
				b.ReportMetric(float64(len(lat))/b.Elapsed().Seconds(), "req/s")
				b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
				b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
			})
		}
	}
}

func runtimeProcs() int { return runtime.GOMAXPROCS(0) }
