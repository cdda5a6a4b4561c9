package toil_test

import (
	"testing"

	"github.com/toilhq/toil"
)

// gathered returns each exported series' value, keyed by metric name (and
// the first label's value, if any).
func gathered(t *testing.T, s *toil.Stats) map[string]float64 {
	t.Helper()
	mfs, err := s.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			key := mf.GetName()
			if len(m.GetLabel()) > 0 {
				key += "{" + m.GetLabel()[0].GetValue() + "}"
			}
			switch {
			case m.Counter != nil:
				out[key] = m.GetCounter().GetValue()
			case m.Gauge != nil:
				out[key] = m.GetGauge().GetValue()
			case m.Histogram != nil:
				out[key] = float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return out
}

func TestStatsHelpers(t *testing.T) {
	t.Parallel()
	s := toil.NewStats()
	s.Incr("hello.world.runs")
	s.Counter("hello.world.runs", "").Add(2) // the same counter
	s.CounterVec("requests_total", "Requests.", "code").WithLabelValues("200").Inc()
	s.Histogram("latency_seconds", "Latency.").Observe(0.1)

	// Asked for as another kind: a working metric, not exported, no panic.
	s.Gauge("hello.world.runs", "").Set(42)
	s.CounterVec("hello.world.runs", "", "code").WithLabelValues("x").Inc()

	got := gathered(t, s)
	for key, want := range map[string]float64{"hello_world_runs": 3, "requests_total{200}": 1, "latency_seconds": 1} {
		if got[key] != want {
			t.Errorf("%s = %v, want %v", key, got[key], want)
		}
	}
	if _, ok := got["hello_world_runs{x}"]; ok {
		t.Error("the conflicting counter vector was exported")
	}
}
