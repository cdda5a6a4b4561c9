package toil

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkHTTPHandler is what the HTTP mixin adds to each request, without
// the network: net/http's hello world on a ServeMux, bare and wrapped as
// the mixin serves it (body limit, panic recovery, route and status
// metrics). Results and the end-to-end wrk comparison: bench/http/README.md.
func BenchmarkHTTPHandler(b *testing.B) {
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "hello world\n") })
	env := &MixinEnv{Section: "http", Log: slog.New(slog.DiscardHandler), Stats: NewStats()}
	wrapped := newHTTPHandler(mux, env, 10<<20)
	for _, bc := range []struct {
		name string
		h    http.Handler
	}{{"bare", mux}, {"mixin", wrapped}} {
		b.Run(bc.name, func(b *testing.B) {
			req := httptest.NewRequest("GET", "/", nil)
			b.ReportAllocs()
			for b.Loop() {
				bc.h.ServeHTTP(httptest.NewRecorder(), req)
			}
		})
		b.Run(bc.name+"-parallel", func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				req := httptest.NewRequest("GET", "/", nil)
				for pb.Next() {
					bc.h.ServeHTTP(httptest.NewRecorder(), req)
				}
			})
		})
	}
}
