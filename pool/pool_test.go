package pool_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/toilhq/toil"
	"github.com/toilhq/toil/pool"
	"github.com/toilhq/toil/toiltest"
)

func TestMapKeepsOrder(t *testing.T) {
	t.Parallel()
	// Each call finishes only after the next item's call has, so the
	// calls end in reverse order; the results must not.
	const n = 20
	done := make([]chan struct{}, n+1)
	for i := range done {
		done[i] = make(chan struct{})
	}
	close(done[n])
	items := make([]int, n)
	for i := range items {
		items[i] = i
	}
	got, err := pool.Map(t.Context(), n, items, func(ctx context.Context, i int) (string, error) {
		<-done[i+1]
		close(done[i])
		return fmt.Sprint(i * i), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range got {
		if s != fmt.Sprint(i*i) {
			t.Fatalf("Map results = %q, want squares in the order of items", got)
		}
	}
	if got, err := pool.Map(t.Context(), 3, []int(nil), func(context.Context, int) (int, error) { return 0, nil }); err != nil || len(got) != 0 {
		t.Errorf("Map of no items = %v, %v", got, err)
	}
}

func TestPoolBoundsConcurrency(t *testing.T) {
	t.Parallel()
	stats := toil.NewStats()
	p := pool.New(3, pool.WithStats(stats, "fetch"))
	var running, most atomic.Int32
	started := make(chan struct{}, 12)
	gate := make(chan struct{})
	errc := make(chan error, 1)
	go func() {
		errc <- pool.EachIn(t.Context(), p, make([]int, 12), func(ctx context.Context, _ int) error {
			n := running.Add(1)
			for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
			}
			started <- struct{}{}
			<-gate
			running.Add(-1)
			return nil
		})
	}()
	for range 3 {
		<-started
	}
	// Three tasks hold their slots; the fourth caller must be waiting.
	waitMetric(t, stats, "pool_tasks_waiting", 1)
	if got := metric(t, stats, "pool_tasks_in_flight"); got != 3 {
		t.Errorf("pool_tasks_in_flight = %v with three tasks held, want 3", got)
	}
	if len(started) != 0 {
		t.Fatalf("a fourth task started in a pool of 3")
	}
	close(gate)
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if m := most.Load(); m != 3 {
		t.Errorf("at most %d tasks ran at once, want 3", m)
	}
	if got := metric(t, stats, "pool_tasks_total", "result", "ok"); got != 12 {
		t.Errorf("pool_tasks_total{result=ok} = %v, want 12", got)
	}
	if got := metric(t, stats, "pool_tasks_in_flight"); got != 0 {
		t.Errorf("pool_tasks_in_flight = %v after the work, want 0", got)
	}
}

var errBoom = errors.New("boom")

func TestFirstErrorCancelsTheRest(t *testing.T) {
	t.Parallel()
	stats := toil.NewStats()
	p := pool.New(4, pool.WithStats(stats, "work"))
	var started, sawCancel atomic.Int32
	_, err := pool.MapIn(t.Context(), p, make([]int, 100), func(ctx context.Context, _ int) (int, error) {
		if started.Add(1) == 1 {
			return 0, fmt.Errorf("item 1: %w", errBoom)
		}
		<-ctx.Done() // the others run until cancelled
		sawCancel.Add(1)
		return 0, ctx.Err()
	})
	if !errors.Is(err, errBoom) || err.Error() != "item 1: boom" {
		t.Fatalf("MapIn = %v, want the first error, item 1: boom", err)
	}
	// No task starts after the failure, and every one started was cancelled.
	if n := started.Load(); n > 4 {
		t.Errorf("%d tasks started in a pool of 4 whose first task failed; want no new task after the failure", n)
	}
	if c, s := sawCancel.Load(), started.Load(); c != s-1 {
		t.Errorf("%d of the %d other tasks saw their context cancelled", c, s-1)
	}
	if got := metric(t, stats, "pool_tasks_total", "result", "error"); got != 1 {
		t.Errorf("pool_tasks_total{result=error} = %v, want 1", got)
	}
	if got := metric(t, stats, "pool_tasks_total", "result", "canceled"); got != float64(started.Load()-1) {
		t.Errorf("pool_tasks_total{result=canceled} = %v, want %d", got, started.Load()-1)
	}
}

func TestCallerCancellation(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancelCause(t.Context())
	stop := errors.New("shutting down")
	var started atomic.Int32
	err := pool.Each(ctx, 2, make([]int, 50), func(ctx context.Context, _ int) error {
		if started.Add(1) == 2 {
			cancel(stop)
		}
		<-ctx.Done()
		return context.Cause(ctx)
	})
	if !errors.Is(err, stop) {
		t.Errorf("Each after the caller cancelled = %v, want the cause, %v", err, stop)
	}
	if n := started.Load(); n > 2 {
		t.Errorf("%d tasks started; want none after the cancellation", n)
	}
}

func TestPanicBecomesError(t *testing.T) {
	t.Parallel()
	stats := toil.NewStats()
	p := pool.New(2, pool.WithStats(stats, "risky"))
	_, err := pool.MapIn(t.Context(), p, []string{"a", "b"}, func(ctx context.Context, s string) (int, error) {
		if s == "b" {
			var m map[string]int
			m[s]++ // a nil map: a runtime error
		}
		<-ctx.Done()
		return 0, nil
	})
	var pe *pool.PanicError
	if !errors.As(err, &pe) {
		t.Fatalf("MapIn = %v, want a *PanicError", err)
	}
	if !strings.Contains(pe.Error(), "assignment to entry in nil map") || !strings.Contains(string(pe.Stack), "pool_test.go") {
		t.Errorf("PanicError lacks the value or the stack:\n%s", pe.Error())
	}
	var re interface{ RuntimeError() }
	if !errors.As(err, &re) {
		t.Errorf("errors.As(err, runtime.Error) = false; Unwrap should expose the panic value")
	}
	if got := metric(t, stats, "pool_tasks_total", "result", "panic"); got != 1 {
		t.Errorf("pool_tasks_total{result=panic} = %v, want 1", got)
	}
}

func TestBadLimit(t *testing.T) {
	t.Parallel()
	_, err := pool.Map(t.Context(), 0, []int{1}, func(context.Context, int) (int, error) { return 0, nil })
	if err == nil || err.Error() != "pool.Map: limit 0: want 1 or more" {
		t.Errorf("Map with limit 0 = %v", err)
	}
	var zero pool.Pool
	if zero.Limit() != pool.DefaultLimit {
		t.Errorf("the zero Pool's limit = %d, want DefaultLimit", zero.Limit())
	}
}

// warmer fans out with a Pool mixin field.
type warmer struct {
	toil.Base[struct{}]

	Fetch pool.Pool
}

func (w *warmer) Handler() http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		out, err := pool.MapIn(r.Context(), &w.Fetch, []string{"a", "b", "c"}, func(ctx context.Context, s string) (string, error) {
			return strings.ToUpper(s), nil
		})
		if err != nil {
			http.Error(rw, err.Error(), 500)
			return
		}
		fmt.Fprint(rw, strings.Join(out, ""))
	})
}

func TestPoolMixin(t *testing.T) {
	t.Parallel()
	svc := &warmer{}
	s := toiltest.Run(t, svc, toiltest.Name("test.warmer"), toiltest.Config("fetch: {limit: 2}"))
	s.WaitReady()
	if got := svc.Fetch.Limit(); got != 2 {
		t.Errorf("Fetch.Limit() = %d, want 2 from the config", got)
	}
	if got := get(t, s.URL("/")); got != "ABC" {
		t.Errorf("GET / = %q", got)
	}
	s.SetConfig("fetch: {limit: 5}")
	if err := s.Reload(); err != nil {
		t.Fatal(err)
	}
	if got := svc.Fetch.Limit(); got != 5 {
		t.Errorf("Fetch.Limit() after reload = %d, want 5", got)
	}
	m := get(t, s.AdminURL("/metrics"))
	for _, want := range []string{`pool_limit{pool="fetch"} 5`, `pool_tasks_total{pool="fetch",result="ok"} 3`} {
		if !strings.Contains(m, want+"\n") {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	s.SetConfig("fetch: {limit: 0}")
	if err := s.Reload(); err == nil || !strings.Contains(err.Error(), "config test.warmer.fetch: limit is 0: want 1 or more") {
		t.Errorf("Reload with limit 0 = %v", err)
	}
}

func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// metric reads one series from stats: name, with the pool label and, if
// given, one more label=value.
func metric(t *testing.T, stats *toil.Stats, name string, label ...string) float64 {
	t.Helper()
	mfs, err := stats.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	series:
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if len(label) == 2 && lp.GetName() == label[0] && lp.GetValue() != label[1] {
					continue series
				}
			}
			switch {
			case m.Gauge != nil:
				return m.GetGauge().GetValue()
			case m.Counter != nil:
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

// waitMetric waits until the series reaches want: a state the pool's
// goroutines reach on their own.
func waitMetric(t *testing.T, stats *toil.Stats, name string, want float64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for metric(t, stats, name) != want {
		if time.Now().After(deadline) {
			t.Fatalf("%s = %v after 10s, want %v", name, metric(t, stats, name), want)
		}
		time.Sleep(time.Millisecond)
	}
}
