package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// TestRefusesOtherHosts: load never sends a request off this machine.
func TestRefusesOtherHosts(t *testing.T) {
	t.Parallel()
	for _, url := range []string{"http://example.com/", "http://10.0.0.1:80/", "https://127.0.0.1/", "ftp://localhost/"} {
		var out bytes.Buffer
		err := run([]string{"-d", "1s", url}, &out)
		if err == nil {
			t.Errorf("load %s: no error; want a refusal", url)
		}
	}
	if err := run([]string{"-d", "10m", "http://127.0.0.1:1/"}, new(bytes.Buffer)); err == nil || !strings.Contains(err.Error(), "-d 10m0s") {
		t.Errorf("load -d 10m: %v; want the duration refused, naming the flag", err)
	}
}

// TestBoundedByRequests: -n stops the run after that many requests, and
// the result counts every one, non-2xx answers apart.
func TestBoundedByRequests(t *testing.T) {
	t.Parallel()
	var served atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if served.Add(1)%10 == 0 {
			http.Error(w, "every tenth fails", http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("ok"))
	}))
	defer srv.Close()

	var out bytes.Buffer
	if err := run([]string{"-c", "4", "-d", "1m", "-n", "200", "-warmup", "0", "-json", srv.URL + "/a", srv.URL + "/b"}, &out); err != nil {
		t.Fatal(err)
	}
	var res result
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatalf("-json printed %q: %v", out.String(), err)
	}
	if res.Requests != 200 || served.Load() != 200 {
		t.Errorf("-n 200: the result counts %d requests and the server saw %d; want 200 and 200", res.Requests, served.Load())
	}
	if res.Non2xx != 20 || res.Errors != 0 {
		t.Errorf("non2xx %d, errors %d; want 20 (every tenth answer is 503) and 0", res.Non2xx, res.Errors)
	}
	if res.P50 <= 0 || res.P99 < res.P50 || res.Max < res.P99 {
		t.Errorf("percentiles p50 %v p99 %v max %v; want 0 < p50 <= p99 <= max", res.P50, res.P99, res.Max)
	}
}
