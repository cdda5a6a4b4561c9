package proxy

import (
	"errors"
	"strconv"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the proxy's Prometheus collectors.
type metrics struct {
	requests *prometheus.CounterVec
	upstream *prometheus.HistogramVec
	retries  *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "toil_proxy_requests_total",
			Help: "Requests answered by the toil proxy, by route, service and status code.",
		}, []string{"route", "service", "code"}),
		upstream: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "toil_proxy_upstream_seconds",
			Help: "Time from sending a request to a backend to its response headers.",
			// 250µs to ~8s: local workers answer in well under a millisecond.
			Buckets: prometheus.ExponentialBuckets(0.00025, 2, 16),
		}, []string{"service"}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "toil_proxy_retries_total",
			Help: "Requests the toil proxy sent to a second backend after the first refused or reset the connection.",
		}, []string{"service"}),
	}
	if reg == nil {
		return m
	}
	m.requests = register(reg, m.requests)
	m.upstream = register(reg, m.upstream)
	m.retries = register(reg, m.retries)
	return m
}

// register registers c, or returns the collector already registered under
// its name, so two proxies on one registry (a restart in tests, a second
// listener) share their metrics.
func register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	err := reg.Register(c)
	if err == nil {
		return c
	}
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		if existing, ok := are.ExistingCollector.(C); ok {
			return existing
		}
	}
	// A different metric under the same name: a programming error, as
	// prometheus.MustRegister treats it.
	panic(err)
}

// codeCounters caches one route's request counters by status code, so a
// request increments its counter after an atomic load instead of a labeled
// lookup in the vector.
type codeCounters struct {
	vec            *prometheus.CounterVec
	route, service string
	byCode         [600]atomic.Pointer[counter]
}

type counter struct{ prometheus.Counter }

func (m *metrics) codes(route, service string) *codeCounters {
	return &codeCounters{vec: m.requests, route: route, service: service}
}

func (c *codeCounters) inc(code int) {
	if code < 0 || code >= len(c.byCode) {
		c.vec.WithLabelValues(c.route, c.service, strconv.Itoa(code)).Inc()
		return
	}
	slot := &c.byCode[code]
	ctr := slot.Load()
	if ctr == nil {
		ctr = &counter{c.vec.WithLabelValues(c.route, c.service, strconv.Itoa(code))}
		slot.Store(ctr)
	}
	ctr.Inc()
}
