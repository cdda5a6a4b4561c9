// Command load is the load generator of bench/tempest: HTTP GETs against
// servers on this machine only (loopback addresses; anything else is
// refused), bounded in requests and in time, printing requests/s and
// latency percentiles.
//
// Two modes:
//
//	load -c 64 -d 10s URL...        as fast as it can: 64 connections, each
//	                                sending its next request when the last is
//	                                answered (the maximum rate)
//	load -rate 5000 -d 10s URL...   an open loop at 5000 requests/s: latency is
//	                                measured from when a request was due, so a
//	                                stalled server is not hidden by the client
//	                                waiting for it (no coordinated omission)
//
// Several URLs are requested in turn (e.g. /ads of every placement). The
// result is one line, or JSON with -json:
//
//	url=... mode=max conns=64 secs=10.00 requests=201342 errors=0 non2xx=0 rps=20134 p50=2.91ms p90=4.80ms p99=8.12ms max=31.2ms
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Limits that keep one run bounded whatever the flags say.
const (
	maxDuration = 5 * time.Minute
	maxRequests = 50_000_000
)

// options are the flags.
type options struct {
	conns    int
	duration time.Duration
	requests int
	rate     int
	warmup   time.Duration
	json     bool
	urls     []string
}

// result is one run's figures.
type result struct {
	URL      string  `json:"url"`
	Mode     string  `json:"mode"` // "max" or "rate=N"
	Conns    int     `json:"conns"`
	Secs     float64 `json:"secs"`
	Requests int     `json:"requests"`
	Errors   int     `json:"errors"`
	Non2xx   int     `json:"non2xx"`
	Late     int     `json:"late"` // open loop: requests not sent because every connection was busy
	RPS      float64 `json:"rps"`
	P50      float64 `json:"p50_ms"`
	P90      float64 `json:"p90_ms"`
	P99      float64 `json:"p99_ms"`
	P999     float64 `json:"p999_ms"`
	Max      float64 `json:"max_ms"`
}

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(2)
	}
}

func run(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	var o options
	fs.IntVar(&o.conns, "c", 64, "connections (and requests in flight at most)")
	fs.DurationVar(&o.duration, "d", 10*time.Second, "how long to measure, at most "+maxDuration.String())
	fs.IntVar(&o.requests, "n", 0, "stop after this many requests (0: only the duration bounds the run)")
	fs.IntVar(&o.rate, "rate", 0, "requests per second, an open loop (0: as fast as the connections go)")
	fs.DurationVar(&o.warmup, "warmup", time.Second, "load before measuring, not counted")
	fs.BoolVar(&o.json, "json", false, "print the result as JSON")
	if err := fs.Parse(args); err != nil {
		return err
	}
	o.urls = fs.Args()
	if err := o.validate(); err != nil {
		return err
	}
	res, err := measure(context.Background(), o)
	if err != nil {
		return err
	}
	if o.json {
		return json.NewEncoder(stdout).Encode(res)
	}
	_, err = fmt.Fprintf(stdout, "url=%s mode=%s conns=%d secs=%.2f requests=%d errors=%d non2xx=%d late=%d rps=%.0f p50=%.2fms p90=%.2fms p99=%.2fms p999=%.2fms max=%.2fms\n",
		res.URL, res.Mode, res.Conns, res.Secs, res.Requests, res.Errors, res.Non2xx, res.Late, res.RPS, res.P50, res.P90, res.P99, res.P999, res.Max)
	return err
}

func (o *options) validate() error {
	if len(o.urls) == 0 {
		return errors.New("no URL given; usage: load [-c N] [-d DUR] [-rate R] URL...")
	}
	for _, raw := range o.urls {
		u, err := url.Parse(raw)
		if err != nil || u.Scheme != "http" {
			return fmt.Errorf("URL %q: want http://127.0.0.1:PORT/PATH", raw)
		}
		ip := net.ParseIP(u.Hostname())
		if u.Hostname() != "localhost" && (ip == nil || !ip.IsLoopback()) {
			return fmt.Errorf("URL %q: load only targets this machine (127.0.0.1, ::1, localhost)", raw)
		}
	}
	switch {
	case o.conns < 1 || o.conns > 4096:
		return fmt.Errorf("-c %d: want 1 to 4096 connections", o.conns)
	case o.duration <= 0 || o.duration > maxDuration:
		return fmt.Errorf("-d %s: want more than 0 and at most %s", o.duration, maxDuration)
	case o.requests < 0 || o.requests > maxRequests:
		return fmt.Errorf("-n %d: want 0 to %d", o.requests, maxRequests)
	case o.rate < 0 || o.rate > 1_000_000:
		return fmt.Errorf("-rate %d: want 0 to 1000000 requests/s", o.rate)
	case o.warmup < 0 || o.warmup > time.Minute:
		return fmt.Errorf("-warmup %s: want 0 to 1m", o.warmup)
	}
	if o.requests == 0 {
		o.requests = maxRequests
	}
	return nil
}

// recorder collects one worker's latencies and failures.
type recorder struct {
	lat    []time.Duration
	errs   int
	non2xx int
}

// measure runs the warmup, then the measured load, and sums the workers'
// records.
func measure(ctx context.Context, o options) (result, error) {
	tr := &http.Transport{
		MaxIdleConns:        o.conns,
		MaxIdleConnsPerHost: o.conns,
		MaxConnsPerHost:     o.conns,
		DisableCompression:  true,
		IdleConnTimeout:     time.Minute,
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}

	if o.warmup > 0 {
		wctx, cancel := context.WithTimeout(ctx, o.warmup)
		warm := o
		warm.rate = 0
		load(wctx, client, warm, new(atomic.Int64), new(atomic.Int64))
		cancel()
	}

	mctx, cancel := context.WithTimeout(ctx, o.duration)
	defer cancel()
	var budget, late atomic.Int64
	budget.Store(int64(o.requests))
	start := time.Now()
	recs := load(mctx, client, o, &budget, &late)
	secs := time.Since(start).Seconds()

	res := result{URL: o.urls[0], Mode: "max", Conns: o.conns, Secs: secs, Late: int(late.Load())}
	if len(o.urls) > 1 {
		res.URL = fmt.Sprintf("%s (+%d more)", o.urls[0], len(o.urls)-1)
	}
	if o.rate > 0 {
		res.Mode = fmt.Sprintf("rate=%d", o.rate)
	}
	var all []time.Duration
	for _, r := range recs {
		all = append(all, r.lat...)
		res.Errors += r.errs
		res.Non2xx += r.non2xx
	}
	res.Requests = len(all) + res.Errors
	if len(all) == 0 {
		return res, fmt.Errorf("no request succeeded (%d errors)", res.Errors)
	}
	slices.Sort(all)
	ms := func(q float64) float64 {
		i := min(len(all)-1, int(q*float64(len(all))))
		return float64(all[i]) / float64(time.Millisecond)
	}
	res.RPS = float64(len(all)) / secs
	res.P50, res.P90, res.P99, res.P999 = ms(0.50), ms(0.90), ms(0.99), ms(0.999)
	res.Max = float64(all[len(all)-1]) / float64(time.Millisecond)
	return res, nil
}

// load runs o.conns workers until ctx ends or the budget of requests is
// spent, and returns their records. In the open loop a pacer hands out
// due times, queued up to one per connection; a request due while that
// queue is full is counted late and not sent (the server is past this
// rate).
func load(ctx context.Context, client *http.Client, o options, budget, late *atomic.Int64) []*recorder {
	recs := make([]*recorder, o.conns)
	var due chan time.Time
	var wg sync.WaitGroup
	if o.rate > 0 {
		due = make(chan time.Time, o.conns)
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer close(due)
			pace(ctx, o.rate, due, late)
		}()
	}
	for i := range recs {
		recs[i] = &recorder{}
		wg.Add(1)
		go func(r *recorder, i int) {
			defer wg.Done()
			for n := i; ; n += o.conns {
				var at time.Time
				if due != nil {
					var ok bool
					select {
					case at, ok = <-due:
					case <-ctx.Done():
					}
					if !ok {
						return
					}
				}
				if ctx.Err() != nil || budget.Add(-1) < 0 {
					return
				}
				if at.IsZero() {
					at = time.Now()
				}
				r.get(ctx, client, o.urls[n%len(o.urls)], at)
			}
		}(recs[i], i)
	}
	wg.Wait()
	return recs
}

// pace sends one due time per 1/rate until ctx ends. Due times pile up in
// the channel while every worker is busy; one that does not fit is late.
func pace(ctx context.Context, rate int, due chan<- time.Time, late *atomic.Int64) {
	interval := time.Second / time.Duration(rate)
	start := time.Now()
	tick := time.NewTicker(max(interval, time.Millisecond))
	defer tick.Stop()
	sent := 0
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			// Every request due by now, even when the ticker is coarser
			// than the interval.
			for want := int(now.Sub(start) / interval); sent < want; sent++ {
				at := start.Add(time.Duration(sent) * interval)
				select {
				case due <- at:
				default:
					late.Add(1)
				}
			}
		}
	}
}

// get sends one request and records its latency from at.
func (r *recorder) get(ctx context.Context, client *http.Client, url string, at time.Time) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		r.errs++
		return
	}
	res, err := client.Do(req)
	if err != nil {
		if ctx.Err() == nil && !strings.Contains(err.Error(), "context deadline exceeded") {
			r.errs++
		}
		return
	}
	_, err = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if err != nil {
		if ctx.Err() == nil {
			r.errs++
		}
		return
	}
	if res.StatusCode/100 != 2 {
		r.non2xx++
	}
	r.lat = append(r.lat, time.Since(at))
}
