package redis

import (
	"context"
	"errors"
	"net"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	goredis "github.com/redis/go-redis/v9"

	"github.com/toilhq/toil"
)

// commandBuckets suit Redis: most commands take well under a millisecond,
// which Prometheus's default buckets (from 5ms) cannot tell apart.
var commandBuckets = []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5}

// metricsHook times every command and pipeline and counts dials, through
// go-redis's hooks.
type metricsHook struct {
	commands *prometheus.HistogramVec
	dials    *prometheus.CounterVec
	client   string
}

func newMetricsHook(stats *toil.Stats, client string) *metricsHook {
	return &metricsHook{
		commands: stats.HistogramVec("redis_command_duration_seconds",
			"Time Redis commands took, by command and result (ok, nil, error); a pipeline is command pipeline.",
			commandBuckets, "client", "command", "result"),
		dials: stats.CounterVec("redis_dials_total",
			"Connections opened to Redis, by result (ok, error): reconnects show here.", "client", "result"),
		client: client,
	}
}

// result is the result label of a command's error.
func result(err error) string {
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, goredis.Nil):
		return "nil"
	}
	return "error"
}

// DialHook counts dials by result.
func (h *metricsHook) DialHook(next goredis.DialHook) goredis.DialHook {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		cn, err := next(ctx, network, addr)
		r := "ok"
		if err != nil {
			r = "error"
		}
		h.dials.WithLabelValues(h.client, r).Inc()
		return cn, err
	}
}

// ProcessHook times one command.
func (h *metricsHook) ProcessHook(next goredis.ProcessHook) goredis.ProcessHook {
	return func(ctx context.Context, cmd goredis.Cmder) error {
		start := time.Now()
		err := next(ctx, cmd)
		h.commands.WithLabelValues(h.client, cmd.Name(), result(err)).Observe(time.Since(start).Seconds())
		return err
	}
}

// ProcessPipelineHook times a pipeline (and a MULTI/EXEC transaction) as one.
func (h *metricsHook) ProcessPipelineHook(next goredis.ProcessPipelineHook) goredis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []goredis.Cmder) error {
		start := time.Now()
		err := next(ctx, cmds)
		h.commands.WithLabelValues(h.client, "pipeline", result(err)).Observe(time.Since(start).Seconds())
		return err
	}
}

// poolCollector exports a client's pool stats, read at scrape time.
type poolCollector struct {
	rdb                                          *goredis.Client
	conns, hits, misses, timeouts, stale, waited *prometheus.Desc
}

func registerPoolStats(env *toil.MixinEnv, rdb *goredis.Client) {
	labels := prometheus.Labels{"client": env.Section}
	desc := func(name, help string, varLabels ...string) *prometheus.Desc {
		return prometheus.NewDesc(name, help, varLabels, labels)
	}
	c := &poolCollector{
		rdb:      rdb,
		conns:    desc("redis_pool_connections", "Connections in the Redis pool, by state (idle, in_use).", "state"),
		hits:     desc("redis_pool_hits_total", "Times a free connection was found in the Redis pool."),
		misses:   desc("redis_pool_misses_total", "Times no free connection was in the Redis pool and one was opened or waited for."),
		timeouts: desc("redis_pool_timeouts_total", "Times waiting for a Redis pool connection timed out (pool_timeout)."),
		stale:    desc("redis_pool_stale_connections_total", "Connections removed from the Redis pool as stale or broken."),
		waited:   desc("redis_pool_wait_seconds_total", "Time spent waiting for a Redis pool connection."),
	}
	if err := env.Stats.Registry().Register(c); err != nil {
		env.Log.Error("redis pool metrics not exported", "err", err)
	}
}

// Describe implements prometheus.Collector.
func (c *poolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.conns, c.hits, c.misses, c.timeouts, c.stale, c.waited} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *poolCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.rdb.PoolStats()
	idle := float64(s.IdleConns)
	ch <- prometheus.MustNewConstMetric(c.conns, prometheus.GaugeValue, idle, "idle")
	ch <- prometheus.MustNewConstMetric(c.conns, prometheus.GaugeValue, max(float64(s.TotalConns)-idle, 0), "in_use")
	ch <- prometheus.MustNewConstMetric(c.hits, prometheus.CounterValue, float64(s.Hits))
	ch <- prometheus.MustNewConstMetric(c.misses, prometheus.CounterValue, float64(s.Misses))
	ch <- prometheus.MustNewConstMetric(c.timeouts, prometheus.CounterValue, float64(s.Timeouts))
	ch <- prometheus.MustNewConstMetric(c.stale, prometheus.CounterValue, float64(s.StaleConns))
	ch <- prometheus.MustNewConstMetric(c.waited, prometheus.CounterValue, time.Duration(s.WaitDurationNs).Seconds())
}
