package queue

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/toilhq/toil"
)

// The metrics, labelled by field and topic, so one service's queue fields
// are told apart.
type consumerMetrics struct {
	consumed     prometheus.Counter
	acked        prometheus.Counter
	retried      prometheus.Counter
	deadLettered *prometheus.CounterVec // by reason
	seconds      prometheus.Observer
}

func newConsumerMetrics(st *toil.Stats, field, topic string) consumerMetrics {
	return consumerMetrics{
		consumed: st.CounterVec("toil_queue_consumed_total", "Messages received from the queue, redeliveries included.", "field", "topic").WithLabelValues(field, topic),
		acked:    st.CounterVec("toil_queue_acked_total", "Messages handled and acknowledged.", "field", "topic").WithLabelValues(field, topic),
		retried:  st.CounterVec("toil_queue_retried_total", "Handler failures followed by another attempt.", "field", "topic").WithLabelValues(field, topic),
		deadLettered: st.CounterVec("toil_queue_dead_lettered_total", "Messages sent to the dead-letter topic, by reason (handler, decode).", "field", "topic", "reason").
			MustCurryWith(prometheus.Labels{"field": field, "topic": topic}),
		seconds: st.HistogramVec("toil_queue_handler_seconds", "Time in the handler, per attempt.", nil, "field", "topic").WithLabelValues(field, topic),
	}
}

type publisherMetrics struct {
	published prometheus.Counter
	failed    prometheus.Counter
}

func newPublisherMetrics(st *toil.Stats, field, topic string) publisherMetrics {
	return publisherMetrics{
		published: st.CounterVec("toil_queue_published_total", "Messages published.", "field", "topic").WithLabelValues(field, topic),
		failed:    st.CounterVec("toil_queue_publish_errors_total", "Publishes that returned an error.", "field", "topic").WithLabelValues(field, topic),
	}
}

// lagCollector asks the backend for a group's lag when /metrics is
// scraped, so the number is as fresh as the scrape and costs nothing
// between scrapes. A backend that cannot tell exports nothing.
type lagCollector struct {
	desc *prometheus.Desc
	lag  func(ctx context.Context) (int64, error)
}

func newLagCollector(field, topic, group string, lag func(ctx context.Context) (int64, error)) *lagCollector {
	return &lagCollector{
		desc: prometheus.NewDesc("toil_queue_lag", "Messages published to the topic and not yet acknowledged by the group, as the backend reports it.",
			nil, prometheus.Labels{"field": field, "topic": topic, "group": group}),
		lag: lag,
	}
}

func (c *lagCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *lagCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	n, err := c.lag(ctx)
	if err != nil {
		return
	}
	ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(n))
}
