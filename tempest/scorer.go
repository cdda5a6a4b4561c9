package tempest

import (
	"context"

	"github.com/toilhq/toil"
	"github.com/toilhq/toil/queue"
)

// SwitchScorerV2 is the feature switch that rolls ModelV2 out: the scorer
// uses it for a placement when the switch is active for the placement's ID,
// so a percentage switch moves a stable share of placements (each one
// wholly, every cycle) to the new model. It is off unless defined.
const SwitchScorerV2 = "scorer:v2"

// ScorerConfig is the scorer's config, under tempest.scorer. The scorer has
// no settings of its own; its queue fields are configured under in: and
// out:.
type ScorerConfig struct{}

// Scorer is the tempest.scorer service (procs 2, CPU-bound): for each page
// of Candidates it scores every ad of every campaign for every placement
// of the cycle the ad Matches, Score = CTR × BidMicros, and publishes the
// page's Scored, even an empty one, so the postfilter can count the pages
// of a cycle.
type Scorer struct {
	toil.Base[ScorerConfig]

	In  queue.Consumer[Candidates] // config under in:
	Out queue.Publisher[Scored]    // config under out:
}

// OnMessage scores one page of Candidates and publishes it. A publish
// error is returned, so the queue retries the page; the page's ads are
// counted only once published, so a retry does not count them twice.
func (s *Scorer) OnMessage(ctx context.Context, c Candidates) error {
	models := s.models(ctx, c.Placements)
	ads := scoreCandidates(c.Campaigns, c.Placements, models)
	if err := s.Out.Publish(ctx, Scored{PageJob: c.PageJob, Ads: ads}); err != nil {
		return err
	}
	s.count(ads)
	return nil
}

// count adds a published page's ads to the metrics, one Add per model
// rather than one per ad.
func (s *Scorer) count(ads []ScoredAd) {
	perModel := map[string]int{}
	for _, a := range ads {
		perModel[a.Model]++
	}
	scored := s.Stats.CounterVec("tempest_scorer_ads_scored_total",
		"Ads scored for a placement and published, by model version.", "model")
	for model, n := range perModel {
		scored.WithLabelValues(model).Add(float64(n))
	}
}

// models picks each placement's model version once per page, not once
// per ad: the switch is asked a placement's question once.
func (s *Scorer) models(ctx context.Context, placements []Placement) []string {
	models := make([]string, len(placements))
	for i, p := range placements {
		models[i] = ModelV1
		if s.Switch.Active(ctx, SwitchScorerV2, toil.Key(p.ID)) {
			models[i] = ModelV2
		}
	}
	return models
}

// scoreCandidates scores each campaign × ad × placement that Matches, with
// models[i] the model version of placements[i]. The result is never nil,
// so an empty page is "ads": [] on the wire.
func scoreCandidates(campaigns []Campaign, placements []Placement, models []string) []ScoredAd {
	ads := []ScoredAd{}
	// Indexes, not range values: copying a Campaign and a Placement for
	// every pair costs more than the check itself.
	for ci := range campaigns {
		c := &campaigns[ci]
		for ai := range c.Ads {
			a := &c.Ads[ai]
			for pi := range placements {
				p := &placements[pi]
				// The size test first: it rejects most pairs, cheaply.
				if a.Width != p.Width || a.Height != p.Height || !Matches(*p, *c, *a) {
					continue
				}
				ads = append(ads, scoreAd(*p, *c, *a, models[pi]))
			}
		}
	}
	return ads
}

// scoreAd is ad a of campaign c scored for placement p with model.
func scoreAd(p Placement, c Campaign, a Ad, model string) ScoredAd {
	ctr := CTR(model, p, c, a)
	return ScoredAd{
		Placement:  p.ID,
		Ad:         a.ID,
		Campaign:   c.ID,
		Advertiser: c.Advertiser,
		BidMicros:  c.BidMicros,
		FreqCap:    c.FreqCap,
		URL:        a.URL,
		Text:       a.Text,
		Width:      a.Width,
		Height:     a.Height,
		CTR:        ctr,
		Score:      ctr * float64(c.BidMicros),
		Model:      model,
	}
}
