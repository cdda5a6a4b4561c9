package toil

import (
	"fmt"
	"log/slog"
	"sync"
	"unicode"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Stats is the service's Prometheus registry, with get-or-create helpers
// so a metric is one line where it is used:
//
//	s.Stats.Counter("ads_served_total", "Ads served.").Inc()
//	s.Stats.Histogram("score_seconds", "Time to score a batch.").Observe(d.Seconds())
//
// Names are sanitized for Prometheus ("hello.world.runs" becomes
// hello_world_runs). Asking again for a name returns the same metric;
// asking for it as another kind (or other labels) returns a working metric
// that is not exported, and logs why. The registry already holds the Go
// runtime, process and build metrics and toil's own toil_* metrics; it is
// served at /metrics on the admin listener.
type Stats struct {
	reg *prometheus.Registry
	log *slog.Logger

	mu      sync.Mutex
	metrics map[string]prometheus.Collector
}

// NewStats returns Stats with a fresh registry holding the Go runtime,
// process and build-info collectors. Run makes one per service; NewStats is
// for code and tests outside Run.
func NewStats() *Stats {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		collectors.NewBuildInfoCollector(),
	)
	return &Stats{reg: reg, log: slog.New(slog.DiscardHandler), metrics: map[string]prometheus.Collector{}}
}

// Registry returns the Prometheus registry, to register collectors the
// helpers do not cover.
func (s *Stats) Registry() *prometheus.Registry { return s.reg }

// Incr adds one to the counter name.
func (s *Stats) Incr(name string) { s.Counter(name, "").Inc() }

// Counter returns the counter name, creating it on first use.
func (s *Stats) Counter(name, help string) prometheus.Counter {
	return getOrCreate(s, "counter", name, help, nil, func(o prometheus.Opts) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts(o))
	})
}

// CounterVec returns the counter vector name with the given label names.
func (s *Stats) CounterVec(name, help string, labels ...string) *prometheus.CounterVec {
	return getOrCreate(s, "counter vec", name, help, labels, func(o prometheus.Opts) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts(o), labels)
	})
}

// Gauge returns the gauge name, creating it on first use.
func (s *Stats) Gauge(name, help string) prometheus.Gauge {
	return getOrCreate(s, "gauge", name, help, nil, func(o prometheus.Opts) prometheus.Gauge {
		return prometheus.NewGauge(prometheus.GaugeOpts(o))
	})
}

// GaugeVec returns the gauge vector name with the given label names.
func (s *Stats) GaugeVec(name, help string, labels ...string) *prometheus.GaugeVec {
	return getOrCreate(s, "gauge vec", name, help, labels, func(o prometheus.Opts) *prometheus.GaugeVec {
		return prometheus.NewGaugeVec(prometheus.GaugeOpts(o), labels)
	})
}

// Histogram returns the histogram name; buckets default to Prometheus's
// (5ms to 10s, for latencies in seconds).
func (s *Stats) Histogram(name, help string, buckets ...float64) prometheus.Histogram {
	return getOrCreate(s, "histogram", name, help, nil, func(o prometheus.Opts) prometheus.Histogram {
		return prometheus.NewHistogram(prometheus.HistogramOpts{Name: o.Name, Help: o.Help, Buckets: buckets})
	})
}

// HistogramVec returns the histogram vector name with the given buckets
// (nil for the defaults) and label names.
func (s *Stats) HistogramVec(name, help string, buckets []float64, labels ...string) *prometheus.HistogramVec {
	return getOrCreate(s, "histogram vec", name, help, labels, func(o prometheus.Opts) *prometheus.HistogramVec {
		return prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: o.Name, Help: o.Help, Buckets: buckets}, labels)
	})
}

func getOrCreate[M prometheus.Collector](s *Stats, kind, name, help string, labels []string, mk func(prometheus.Opts) M) M {
	name = metricName(name)
	id := fmt.Sprintf("%s%q", kind, labels)
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.metrics[id+" "+name]; ok {
		return c.(M)
	}
	m := mk(prometheus.Opts{Name: name, Help: helpOr(name, help)})
	if _, taken := s.metrics[name]; taken {
		s.log.Error("metric already exists as another kind or with other labels; this one is not exported", "metric", name)
		return m
	}
	if err := s.reg.Register(m); err != nil {
		s.log.Error("metric not exported", "metric", name, "err", err)
		return m
	}
	s.metrics[name] = m
	s.metrics[id+" "+name] = m
	return m
}

func helpOr(name, help string) string {
	if help != "" {
		return help
	}
	return name
}

// metricName makes name a valid Prometheus metric name.
func metricName(name string) string {
	b := []rune(name)
	for i, c := range b {
		ok := c == '_' || c == ':' || (c < unicode.MaxASCII && (unicode.IsLetter(c) || (i > 0 && unicode.IsDigit(c))))
		if !ok {
			b[i] = '_'
		}
	}
	return string(b)
}

// builtin are toil's own metrics.
type builtin struct {
	state         *prometheus.GaugeVec
	hookSeconds   *prometheus.GaugeVec
	reloads       prometheus.Counter
	reloadErrors  prometheus.Counter
	reloadSuccess prometheus.Gauge
}

var lifecycleStates = []string{"starting", "setup", "running", "stopping", "stopped"}

func newBuiltin(s *Stats, service string, worker int) *builtin {
	b := &builtin{
		state: s.GaugeVec("toil_lifecycle_state",
			"1 for the lifecycle state the service is in: starting, setup, running, stopping, stopped.", "state"),
		hookSeconds: s.GaugeVec("toil_hook_duration_seconds",
			"How long the last run of each lifecycle hook took.", "phase", "target", "hook"),
		reloads:       s.Counter("toil_config_reloads_total", "Config reloads attempted (SIGHUP, file change, control)."),
		reloadErrors:  s.Counter("toil_config_reload_errors_total", "Config reloads rejected: the old config was kept."),
		reloadSuccess: s.Gauge("toil_config_last_reload_successful", "1 if the last config reload was applied, 0 if rejected."),
	}
	b.reloadSuccess.Set(1)
	s.GaugeVec("toil_service_info", "Which service and worker this process runs, and the build's version (toil.Version, stamped by toil build).", "service", "worker", "version").
		WithLabelValues(service, fmt.Sprint(worker), Version).Set(1)
	return b
}

func (b *builtin) setState(state string) {
	for _, st := range lifecycleStates {
		v := 0.0
		if st == state {
			v = 1
		}
		b.state.WithLabelValues(st).Set(v)
	}
}
