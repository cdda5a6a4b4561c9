package pool

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/toilhq/toil"
)

// DefaultLimit is the limit of a Pool that was never configured: its zero
// value, or a mixin field without a limit in the config. Fan-out inside a
// service mostly waits on the network, so it is well above the core count.
const DefaultLimit = 16

// Pool is a concurrency bound shared by everything that runs tasks in it:
// at most Limit tasks run at once, the others wait their turn. Its zero
// value is ready to use with [DefaultLimit]; [New] sets another. As a
// mixin field of a service it is configured under its field's key
// (limit), reports its metrics to the service's /metrics, and takes a new
// limit on config reload (tasks running keep their slots in the old bound).
//
// Metrics, labelled pool: pool_limit, pool_tasks_in_flight,
// pool_tasks_waiting (callers blocked for a slot), pool_tasks_total{result}
// (ok, error, panic, canceled: ended with the group's cancellation;
// skipped: never started because the group was cancelled first) and
// pool_task_duration_seconds.
type Pool struct {
	lim atomic.Pointer[limiter]
	m   atomic.Pointer[metrics]
}

// limiter is one bound; a reload swaps in a new one. It is a buffered
// channel, as in errgroup: unlike semaphore.Weighted, waiting for a slot
// allocates nothing, and select gives up on a done context.
type limiter struct {
	slots chan struct{}
	n     int
}

func newLimiter(n int) *limiter { return &limiter{slots: make(chan struct{}, n), n: n} }

// acquire takes a slot, or returns ctx's error if ctx is done first; m
// counts the wait, if there is one.
func (l *limiter) acquire(ctx context.Context, m *metrics) error {
	if ctx.Err() != nil {
		return ctx.Err() // a done context wins over a free slot
	}
	select {
	case l.slots <- struct{}{}:
		return nil
	default:
	}
	m.waiting(1)
	defer m.waiting(-1)
	select {
	case l.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (l *limiter) release() { <-l.slots }

// New returns a Pool running at most limit tasks at once (limit below 1
// is taken as 1). With stats, its metrics are registered there under name.
func New(limit int, opts ...Option) *Pool {
	p := &Pool{}
	p.setLimit(limit)
	for _, o := range opts {
		o(p)
	}
	return p
}

// Option configures New.
type Option func(*Pool)

// WithStats exports the pool's metrics to stats, labelled pool=name.
func WithStats(stats *toil.Stats, name string) Option {
	return func(p *Pool) { p.useStats(stats, name) }
}

func (p *Pool) setLimit(n int) {
	if n < 1 {
		n = 1
	}
	p.lim.Store(newLimiter(n))
	if m := p.m.Load(); m != nil {
		m.limit.Set(float64(n))
	}
}

func (p *Pool) limiter() *limiter {
	if l := p.lim.Load(); l != nil {
		return l
	}
	p.lim.CompareAndSwap(nil, newLimiter(DefaultLimit))
	return p.lim.Load()
}

// Limit returns how many tasks may run at once.
func (p *Pool) Limit() int { return p.limiter().n }

// Group starts a group of tasks in the pool, as errgroup.WithContext does:
// the returned context is cancelled when a task fails or panics, or when
// Wait returns.
func (p *Pool) Group(ctx context.Context) (*Group, context.Context) {
	ctx, cancel := context.WithCancelCause(ctx)
	return &Group{p: p, ctx: ctx, cancel: cancel}, ctx
}

// Group is a set of tasks running in a Pool, cancelled together at the
// first failure. Go starts tasks, Wait waits for them.
type Group struct {
	p      *Pool
	ctx    context.Context
	cancel context.CancelCauseFunc
	wg     sync.WaitGroup

	once sync.Once
	err  error
}

// Go runs task in a new goroutine once the pool has a free slot, blocking
// the caller until then: a loop calling Go cannot outrun the pool. If the
// group is cancelled (a task failed, or the context given to Group is done)
// before a slot is free, task is not run and Wait will say why.
func (g *Group) Go(task func(ctx context.Context) error) {
	m := g.p.m.Load()
	lim := g.p.limiter()
	if err := lim.acquire(g.ctx, m); err != nil {
		m.result("skipped")
		g.fail(context.Cause(g.ctx))
		return
	}
	m.inFlight(1)
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		start := time.Now()
		err := run(g.ctx, task)
		if err != nil {
			// Cancel before the slot is freed, so no waiting task starts
			// after the first failure.
			g.fail(err)
		}
		lim.release()
		m.done(start, g.classify(err))
	}()
}

// Wait waits for every task started with Go and returns the first error,
// or the cause of the group's cancellation if tasks were skipped for it.
func (g *Group) Wait() error {
	g.wg.Wait()
	g.cancel(g.err)
	return g.err
}

func (g *Group) fail(err error) {
	g.once.Do(func() {
		g.err = err
		g.cancel(err)
	})
}

func (g *Group) classify(err error) string {
	var pe *PanicError
	switch {
	case err == nil:
		return "ok"
	case errors.As(err, &pe):
		return "panic"
	case g.ctx.Err() != nil && errors.Is(err, context.Canceled):
		return "canceled"
	default:
		return "error"
	}
}

// run calls task, turning a panic into a *PanicError: a panic in one task
// of a service's fan-out would otherwise end the process, skipping its
// stop hooks and drain.
func run(ctx context.Context, task func(context.Context) error) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = &PanicError{Value: v, Stack: debug.Stack()}
		}
	}()
	return task(ctx)
}

// PanicError is a task's panic, returned as the group's error.
type PanicError struct {
	Value any    // what the task panicked with
	Stack []byte // the task's stack at the panic
}

func (e *PanicError) Error() string {
	return fmt.Sprintf("task panicked: %v\n%s", e.Value, e.Stack)
}

// Unwrap returns the panic value if it is an error.
func (e *PanicError) Unwrap() error {
	err, _ := e.Value.(error)
	return err
}

// metrics are a pool's series; a nil *metrics records nothing.
type metrics struct {
	limit    prometheus.Gauge
	flight   prometheus.Gauge
	wait     prometheus.Gauge
	tasks    map[string]prometheus.Counter // by result
	duration prometheus.Observer
}

var results = []string{"ok", "error", "panic", "canceled", "skipped"}

func (p *Pool) useStats(stats *toil.Stats, name string) {
	m := &metrics{
		limit:    stats.GaugeVec("pool_limit", "How many tasks a pool runs at once.", "pool").WithLabelValues(name),
		flight:   stats.GaugeVec("pool_tasks_in_flight", "Tasks running in a pool now.", "pool").WithLabelValues(name),
		wait:     stats.GaugeVec("pool_tasks_waiting", "Callers blocked waiting for a free slot in a pool.", "pool").WithLabelValues(name),
		tasks:    map[string]prometheus.Counter{},
		duration: stats.HistogramVec("pool_task_duration_seconds", "How long a pool's tasks ran.", nil, "pool").WithLabelValues(name),
	}
	tasks := stats.CounterVec("pool_tasks_total",
		"Tasks a pool ran, by result: ok, error, panic, canceled (ended by the group's cancellation), skipped (never started: the group was cancelled first).",
		"pool", "result")
	for _, r := range results {
		m.tasks[r] = tasks.WithLabelValues(name, r)
	}
	m.limit.Set(float64(p.Limit()))
	p.m.Store(m)
}

func (m *metrics) waiting(d float64) {
	if m != nil {
		m.wait.Add(d)
	}
}

func (m *metrics) inFlight(d float64) {
	if m != nil {
		m.flight.Add(d)
	}
}

func (m *metrics) result(r string) {
	if m != nil {
		m.tasks[r].Inc()
	}
}

func (m *metrics) done(start time.Time, result string) {
	if m == nil {
		return
	}
	m.flight.Add(-1)
	m.duration.Observe(time.Since(start).Seconds())
	m.tasks[result].Inc()
}
