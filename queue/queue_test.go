package queue_test

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/toilhq/toil"
	"github.com/toilhq/toil/internal/testserver"
	"github.com/toilhq/toil/queue"
	"github.com/toilhq/toil/queue/queuetest"
)

// TestMain doubles as the worker program of the kill tests: started with
// TOIL_QUEUE_TEST_WORKER=1, the test binary runs a toil service with a
// Consumer field instead of the tests, so the tests need no build step.
func TestMain(m *testing.M) {
	if os.Getenv(workerEnv) == "1" {
		toil.Main("queue.worker", &worker{})
		return // Main exits
	}
	os.Exit(m.Run())
}

const workerEnv = "TOIL_QUEUE_TEST_WORKER"

// job is what the kill tests send: an id and a pad to make it ~1 KB.
type job struct {
	ID  int    `json:"id"`
	Pad string `json:"pad"`
}

// worker prints the id of every job it handles on stdout, one per line,
// before acking it: what the test reads from its pipe is what was handled.
type worker struct {
	toil.Base[struct{}]

	In queue.Consumer[job]
}

func (w *worker) OnMessage(ctx context.Context, j job) error {
	_, err := fmt.Fprintf(os.Stdout, "%d\n", j.ID)
	return err
}

// backend is a real message system for one test.
type backend struct {
	name string
	url  func(t *testing.T) string
}

var backends = []backend{
	{"mem", func(t *testing.T) string { return queuetest.MemURL(t) }},
	{"nats", func(t *testing.T) string { return testserver.NATS(t).URL() }},
	{"redis", func(t *testing.T) string { return testserver.Redis(t).URL() }},
	{"kafka", func(t *testing.T) string { return testserver.Kafka(t).URL() }},
}

// metric returns the value of the counter or gauge name whose labels
// include want, from reg; -1 if there is none.
func metric(t *testing.T, reg *prometheus.Registry, name string, want map[string]string) float64 {
	t.Helper()
	fams, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather metrics: %v", err)
	}
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
	next:
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			for k, v := range want {
				if labels[k] != v {
					continue next
				}
			}
			return value(m)
		}
	}
	return -1
}

func value(m *dto.Metric) float64 {
	switch {
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	}
	return -1
}
