package tempest

import (
	"context"
	"testing"

	"github.com/toilhq/toil"
)

// BenchmarkScore measures the scorer's CPU-bound work on one page of
// tempest's default size (200 campaigns, 24 placements): choosing each
// placement's model through the scorer:v2 switch, matching every
// campaign × ad × placement and scoring the matches. It reports ads/s, the
// ScoredAds produced per second on one core (the scorer handles a page on
// one goroutine), and pairs/s, the ad × placement pairs considered.
// Results and the command: bench/tempest/scorer.md.
func BenchmarkScore(b *testing.B) {
	for _, bench := range []struct {
		name    string
		percent float64
	}{{"v1", 0}, {"v2-50pct", 50}, {"v2", 100}} {
		b.Run(bench.name, func(b *testing.B) {
			c := scoreCandidatesPage(200, 24)
			sw := toil.NewSwitches()
			sw.Set(SwitchScorerV2, toil.Switch{Percent: bench.percent})
			s := &Scorer{}
			s.Switch = sw
			ctx := context.Background()
			pairs := 0
			for _, camp := range c.Campaigns {
				pairs += len(camp.Ads) * len(c.Placements)
			}
			scored := 0
			b.ReportAllocs()
			for b.Loop() {
				models := s.models(ctx, c.Placements)
				scored += len(scoreCandidates(c.Campaigns, c.Placements, models))
			}
			secs := b.Elapsed().Seconds()
			b.ReportMetric(float64(scored)/secs, "ads/s")
			b.ReportMetric(float64(pairs*b.N)/secs, "pairs/s")
			b.ReportMetric(float64(scored)/float64(b.N), "ads/page")
		})
	}
}
