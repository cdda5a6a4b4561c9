package proxy_test

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/toilhq/toil/devloop/proxy"
)

// load is clients sending GETs to one URL until stopped.
type load struct {
	sent     atomic.Int64
	mu       sync.Mutex
	failures []string
	stop     chan struct{}
	wg       sync.WaitGroup
}

// hammer starts clients goroutines sending GETs to url until the returned
// load is stopped. Every every requests it offers a tick on tick (dropped
// if one is pending), so the test can act while the load runs. A request
// fails unless it gets a 200 from a worker ("w..." in the body).
func hammer(t *testing.T, url string, clients int, every int64, tick chan<- struct{}) *load {
	c := newClient(t)
	l := &load{stop: make(chan struct{})}
	for range clients {
		l.wg.Go(func() {
			for {
				select {
				case <-l.stop:
					return
				default:
				}
				res, err := c.Get(url)
				var body []byte
				if err == nil {
					body, err = io.ReadAll(res.Body)
					res.Body.Close()
				}
				if err != nil || res.StatusCode != http.StatusOK || !strings.HasPrefix(string(body), "w") {
					l.mu.Lock()
					if err != nil {
						l.failures = append(l.failures, err.Error())
					} else {
						l.failures = append(l.failures, fmt.Sprintf("%d %s", res.StatusCode, body))
					}
					l.mu.Unlock()
				}
				if l.sent.Add(1)%every == 0 {
					select {
					case tick <- struct{}{}:
					default:
					}
				}
			}
		})
	}
	t.Cleanup(l.end)
	return l
}

// end stops the clients and waits for them; it can be called again.
func (l *load) end() {
	select {
	case <-l.stop:
	default:
		close(l.stop)
	}
	l.wg.Wait()
}

// check ends the load and fails the test if any request failed.
func (l *load) check(t *testing.T, what string) int64 {
	t.Helper()
	l.end()
	n := l.sent.Load()
	if len(l.failures) > 0 {
		t.Errorf("%d of %d requests failed %s; first: %q", len(l.failures), n, what, l.failures[:min(5, len(l.failures))])
	}
	return n
}

// TestNoFailedRequestsAcrossRollouts rolls a two-worker `main:` service
// (each worker its own address) 20 times, one worker at a time as the
// supervisor does — start the new worker, swap the backend set, stop the old
// worker gracefully — under 8 clients, and expects every request to succeed.
func TestNoFailedRequestsAcrossRollouts(t *testing.T) {
	t.Parallel()
	for _, network := range []string{"tcp", "unix"} {
		t.Run(network, func(t *testing.T) {
			t.Parallel()
			const clients, minRequests, swaps = 8, 2000, 20
			reg := prometheus.NewRegistry()
			p, url := startProxy(t, proxy.Options{Registerer: reg})
			p.SetRoutes([]proxy.Route{{Path: "/", Service: "legacy"}})
			gen := 0
			start := func() *upstream {
				gen++
				id := fmt.Sprintf("w%d", gen)
				return startUpstream(t, network, id, idHandler(id))
			}
			workers := []*upstream{start(), start()}
			set := func() {
				if err := p.SetBackends("legacy", []proxy.Backend{workers[0].backend(), workers[1].backend()}); err != nil {
					t.Fatal(err)
				}
			}
			set()

			tick := make(chan struct{}, 1)
			l := hammer(t, url+"/", clients, minRequests/swaps/2, tick)
			// Old workers drain while the rollout goes on, as SIGTERMed
			// workers do.
			var draining sync.WaitGroup
			for i := range swaps {
				<-tick // some load between two swaps
				old := workers[i%2]
				workers[i%2] = start()
				set()
				draining.Go(func() { old.shutdown(t) })
			}
			for l.sent.Load() < minRequests {
				<-tick
			}
			n := l.check(t, fmt.Sprintf("across %d rollouts", swaps))
			draining.Wait()
			t.Logf("%d requests by %d clients across %d rollouts; %v sent to a second backend",
				n, clients, swaps, counterValue(t, reg, "toil_proxy_retries_total"))
		})
	}
}

// counterValue sums the counter name over its labels.
func counterValue(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var v float64
	for _, mf := range mfs {
		if mf.GetName() == name {
			for _, m := range mf.GetMetric() {
				v += m.GetCounter().GetValue()
			}
		}
	}
	return v
}

// TestWorkerDyingAbruptly kills one of two workers (its listener closed,
// its connections reset) under load; every GET still succeeds, from the
// other.
func TestWorkerDyingAbruptly(t *testing.T) {
	t.Parallel()
	const clients, requests = 8, 1000
	a := startUpstream(t, "tcp", "wa", idHandler("wa"))
	b := startUpstream(t, "tcp", "wb", idHandler("wb"))
	p, url := startProxy(t, proxy.Options{})
	p.SetRoutes([]proxy.Route{{Path: "/", Service: "legacy"}})
	p.SetBackends("legacy", []proxy.Backend{a.backend(), b.backend()})

	tick := make(chan struct{}, 1)
	l := hammer(t, url+"/", clients, requests/5, tick)
	<-tick
	a.kill()
	for l.sent.Load() < requests {
		<-tick
	}
	n := l.check(t, "with one of two workers killed")
	t.Logf("%d requests, worker wa killed after about %d", n, requests/5)
}

// TestRetryRules checks what goes to a second backend and what does not:
// a request whose connection was refused always does (body included); a
// bodiless GET whose connection broke before a response does; a POST that
// reached a worker does not — it may have done its work.
func TestRetryRules(t *testing.T) {
	t.Parallel()
	var resets atomic.Int64
	// resetter reads the whole request, then resets the connection
	// without answering: a worker that crashed mid-request.
	resetter := startUpstream(t, "tcp", "wreset", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		resets.Add(1)
		c, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		c.(*net.TCPConn).SetLinger(0)
		c.Close()
	}))
	var okBodies sync.Map
	var okCount atomic.Int64
	ok := startUpstream(t, "tcp", "wok", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		okBodies.Store(string(body), true)
		okCount.Add(1)
		io.WriteString(w, "wok")
	}))
	// A port nothing listens on: it refuses.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := proxy.Backend{ID: "wdead", Addr: ln.Addr().String()}
	ln.Close()

	l := newLogs()
	p, url := startProxy(t, proxy.Options{Log: l.hook})
	p.SetRoutes([]proxy.Route{{Path: "/", Service: "legacy"}})
	c := newClient(t)
	post := func(body string) (int, string) {
		res, err := c.Post(url+"/", "text/plain", strings.NewReader(body))
		if err != nil {
			t.Fatalf("POST: %v", err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}

	t.Run("refused", func(t *testing.T) {
		p.SetBackends("legacy", []proxy.Backend{dead, ok.backend()})
		retried := 0
		for i := range 4 {
			body := fmt.Sprintf("order %d", i)
			if code, got := post(body); code != 200 || got != "wok" {
				t.Errorf("POST %q = %d %q, want 200 from wok", body, code, got)
			}
			if _, seen := okBodies.Load(body); !seen {
				t.Errorf("wok did not get the body %q intact", body)
			}
			if e := l.next(t); e.Attempts == 2 {
				retried++
			}
		}
		if retried == 0 {
			t.Errorf("no POST was refused by wdead and sent on; the test did not test the retry")
		}
	})

	t.Run("reset", func(t *testing.T) {
		p.SetBackends("legacy", []proxy.Backend{resetter.backend(), ok.backend()})
		// Requests one at a time alternate between the two (round-robin
		// among equally idle backends), so both cases meet the resetter.
		resets.Store(0)
		for range 4 {
			if code, _, body := get(t, c, url+"/"); code != 200 || body != "wok" {
				t.Errorf("GET = %d %q, want 200 from wok after the reset", code, body)
			}
			l.next(t)
		}
		if resets.Load() == 0 {
			t.Fatalf("no GET met the resetting worker; the test did not test the retry")
		}

		resets.Store(0)
		okCount.Store(0)
		failed := 0
		for i := range 4 {
			code, _ := post(fmt.Sprintf("payment %d", i))
			if code == http.StatusBadGateway {
				failed++
			}
			l.next(t)
		}
		if int64(failed) != resets.Load() || failed == 0 || okCount.Load() != int64(4-failed) {
			t.Errorf("POSTs: %d got 502, resetter saw %d, wok saw %d of 4; want each POST the resetter saw to fail, not to reach wok too",
				failed, resets.Load(), okCount.Load())
		}
	})
}

// TestRolloutLetsInFlightRequestsFinish swaps the backend set while a
// request is running on the old backend: it finishes there, and the next
// request goes to the new one.
func TestRolloutLetsInFlightRequestsFinish(t *testing.T) {
	t.Parallel()
	entered, release := make(chan struct{}), make(chan struct{})
	old := startUpstream(t, "unix", "wold", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-release
		io.WriteString(w, "wold")
	}))
	next := startUpstream(t, "unix", "wnew", idHandler("wnew"))
	p, url := startProxy(t, proxy.Options{})
	p.SetRoutes([]proxy.Route{{Path: "/", Service: "legacy"}})
	p.SetBackends("legacy", []proxy.Backend{old.backend()})
	c := newClient(t)

	first := make(chan string, 1)
	go func() {
		res, err := c.Get(url + "/slow")
		if err != nil {
			first <- err.Error()
			return
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		first <- fmt.Sprintf("%d %s", res.StatusCode, b)
	}()
	<-entered
	p.SetBackends("legacy", []proxy.Backend{next.backend()})
	if code, _, body := get(t, c, url+"/after"); code != 200 || body != "wnew /after" {
		t.Errorf("request after the swap = %d %q, want 200 from wnew", code, body)
	}
	close(release)
	if got := <-first; got != "200 wold" {
		t.Errorf("request running during the swap = %q, want 200 from wold", got)
	}
	old.shutdown(t)
}
