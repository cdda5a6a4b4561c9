package tempest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/toilhq/toil"
	"github.com/toilhq/toil/queue"
	"github.com/toilhq/toil/queue/queuetest"
	"github.com/toilhq/toil/toiltest"
)

// rankPub stands in for the stage before the one under test: it publishes
// what that stage would.
type rankPub[T any] struct {
	toil.Base[struct{}]

	Out queue.Publisher[T]
}

// rankSub stands in for the stage after: it receives what the stage under
// test publishes.
type rankSub[T any] struct {
	toil.Base[struct{}]

	In queue.Consumer[T]
}

// rankPublisher starts a publisher of T on url's topic.
func rankPublisher[T any](t *testing.T, url, topic, name string) *rankPub[T] {
	t.Helper()
	p := &rankPub[T]{}
	toiltest.Run(t, p, toiltest.Name(name), toiltest.Config(rankQueue("out", url, topic))).WaitReady()
	return p
}

// rankSubscribe starts a consumer of url's topic and returns the messages
// it receives, in order.
func rankSubscribe[T any](t *testing.T, url, topic, name string) <-chan T {
	t.Helper()
	got := make(chan T, 100)
	s := &rankSub[T]{}
	s.In.Handler = func(ctx context.Context, v T) error {
		select {
		case got <- v:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	toiltest.Run(t, s, toiltest.Name(name), toiltest.Config(rankQueue("in", url, topic))).WaitReady()
	return got
}

// rankQueue is a queue field's config section.
func rankQueue(field, url, topic string) string {
	return fmt.Sprintf("%s: {url: %q, topic: %s}\n", field, url, topic)
}

// rankRecv waits for the next message, failing the test if none comes: the
// deadline only stops a broken pipeline from hanging the test.
func rankRecv[T any](t *testing.T, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(30 * time.Second):
		var zero T
		t.Fatalf("no %T arrived within 30s", zero)
		return zero
	}
}

// scoreStart runs a scorer between a Candidates publisher and a Scored
// subscriber on a fresh in-process bus.
func scoreStart(t *testing.T, sw *toil.Switches) (*rankPub[Candidates], <-chan Scored) {
	t.Helper()
	url := queuetest.MemURL(t)
	scored := rankSubscribe[Scored](t, url, TopicScored, "test.scored")
	cfg := rankQueue("in", url, TopicCandidates) + rankQueue("out", url, TopicScored)
	toiltest.Run(t, &Scorer{}, toiltest.Name("tempest.scorer"), toiltest.Config(cfg), toiltest.Switches(sw)).WaitReady()
	return rankPublisher[Candidates](t, url, TopicCandidates, "test.candidates"), scored
}

// scoreCandidatesPage is page 1 of 1 of cycle 7 holding the fixture.
func scoreCandidatesPage(campaigns, placements int) Candidates {
	ps, cs := scoreFixture(campaigns, placements)
	return Candidates{
		PageJob:   PageJob{Cycle: 7, Page: 1, Pages: 1, Placements: ps, At: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)},
		Campaigns: cs,
	}
}

// scoreCheck checks that got holds exactly the matching (placement, ad)
// pairs of c, each scored CTR × bid with the model want says.
func scoreCheck(t *testing.T, c Candidates, got Scored, want func(Placement) string) {
	t.Helper()
	if got.Cycle != c.Cycle || got.Page != c.Page || got.Pages != c.Pages {
		t.Errorf("Scored is cycle %d page %d/%d, want the candidates' %d page %d/%d",
			got.Cycle, got.Page, got.Pages, c.Cycle, c.Page, c.Pages)
	}
	byPair := map[[2]string]ScoredAd{}
	for _, a := range got.Ads {
		byPair[[2]string{a.Placement, a.Ad}] = a
	}
	if len(byPair) != len(got.Ads) {
		t.Errorf("Scored holds %d ads but %d distinct (placement, ad) pairs: duplicates", len(got.Ads), len(byPair))
	}
	n := 0
	for _, p := range c.Placements {
		for _, camp := range c.Campaigns {
			for _, ad := range camp.Ads {
				a, ok := byPair[[2]string{p.ID, ad.ID}]
				if !Matches(p, camp, ad) {
					if ok {
						t.Errorf("ad %s was scored for %s, which it does not match", ad.ID, p.ID)
					}
					continue
				}
				n++
				if !ok {
					t.Errorf("ad %s matches %s but was not scored for it", ad.ID, p.ID)
					continue
				}
				model := want(p)
				ctr := CTR(model, p, camp, ad)
				if a.Model != model || a.CTR != ctr || a.Score != ctr*float64(camp.BidMicros) {
					t.Errorf("ad %s on %s: model %s CTR %v score %v, want model %s CTR %v score %v",
						ad.ID, p.ID, a.Model, a.CTR, a.Score, model, ctr, ctr*float64(camp.BidMicros))
				}
				if a.Campaign != camp.ID || a.Advertiser != camp.Advertiser || a.FreqCap != camp.FreqCap || a.Text != ad.Text {
					t.Errorf("ad %s on %s carries %+v, want its campaign's fields", ad.ID, p.ID, a)
				}
			}
		}
	}
	if n == 0 {
		t.Fatal("the fixture has no matching pairs: the test checks nothing")
	}
}

func TestScorerUsesV1WhenTheSwitchIsOff(t *testing.T) {
	t.Parallel()
	in, out := scoreStart(t, toil.NewSwitches())
	c := scoreCandidatesPage(40, 12)
	if err := in.Out.Publish(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	scoreCheck(t, c, rankRecv(t, out), func(Placement) string { return ModelV1 })
}

func TestScorerUsesV2ForThePlacementsThePercentageSelects(t *testing.T) {
	t.Parallel()
	sw := toil.NewSwitches()
	sw.Set(SwitchScorerV2, toil.Switch{Percent: 50})
	in, out := scoreStart(t, sw)
	c := scoreCandidatesPage(40, 24)
	if err := in.Out.Publish(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	want := func(p Placement) string {
		if sw.Active(context.Background(), SwitchScorerV2, toil.Key(p.ID)) {
			return ModelV2
		}
		return ModelV1
	}
	models := map[string]int{}
	for _, p := range c.Placements {
		models[want(p)]++
	}
	if models[ModelV1] == 0 || models[ModelV2] == 0 {
		t.Fatalf("at 50%% the switch picks %v of 24 placements: the test needs both models", models)
	}
	scoreCheck(t, c, rankRecv(t, out), want)
}

func TestScorerUsesV2EverywhereWhenForced(t *testing.T) {
	t.Parallel()
	sw := toil.NewSwitches()
	toiltest.ForceSwitch(t, sw, SwitchScorerV2, true)
	in, out := scoreStart(t, sw)
	c := scoreCandidatesPage(40, 12)
	if err := in.Out.Publish(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	scoreCheck(t, c, rankRecv(t, out), func(Placement) string { return ModelV2 })
}

func TestScorerPublishesAnEmptyPage(t *testing.T) {
	t.Parallel()
	in, out := scoreStart(t, toil.NewSwitches())
	c := scoreCandidatesPage(0, 4)
	c.Page, c.Pages = 3, 5
	if err := in.Out.Publish(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	got := rankRecv(t, out)
	if got.Cycle != 7 || got.Page != 3 || got.Pages != 5 || len(got.Ads) != 0 || len(got.Placements) != 4 {
		t.Errorf("empty page scored as cycle %d page %d/%d with %d ads and %d placements, want cycle 7 page 3/5, 0 ads, 4 placements",
			got.Cycle, got.Page, got.Pages, len(got.Ads), len(got.Placements))
	}
}
