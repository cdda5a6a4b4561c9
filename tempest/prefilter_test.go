package tempest

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/toilhq/toil"
	"github.com/toilhq/toil/internal/testserver"
	"github.com/toilhq/toil/queue"
	"github.com/toilhq/toil/queue/queuetest"
	"github.com/toilhq/toil/toiltest"
)

func TestEligible(t *testing.T) {
	t.Parallel()
	at := seedEpoch
	good := Ad{ID: "a1", Width: 300, Height: 250, URL: "https://shop.example/x", Text: "Fresh deals"}
	base := Campaign{
		ID: "c1", Advertiser: "adv1", BudgetMicros: 1000, BidMicros: 10,
		Start: at.Add(-time.Hour), End: at.Add(time.Hour), Ads: []Ad{good},
	}
	with := func(f func(c *Campaign)) Campaign {
		c := base
		c.Ads = append([]Ad(nil), base.Ads...)
		f(&c)
		return c
	}
	withAd := func(f func(a *Ad)) Campaign {
		return with(func(c *Campaign) { f(&c.Ads[0]) })
	}
	tests := []struct {
		name   string
		c      Campaign
		at     time.Time
		spent  int64
		reason string
	}{
		{"valid", base, at, 0, ""},
		{"starts now", base, base.Start, 0, ""},
		{"spent just under budget", base, at, 999, ""},
		{"text of MaxAdText bytes", withAd(func(a *Ad) { a.Text = strings.Repeat("x", MaxAdText) }), at, 0, ""},
		{"bid 0", with(func(c *Campaign) { c.BidMicros = 0 }), at, 0, DropInvalid},
		{"negative bid", with(func(c *Campaign) { c.BidMicros = -5 }), at, 0, DropInvalid},
		{"budget 0", with(func(c *Campaign) { c.BudgetMicros = 0 }), at, 0, DropInvalid},
		{"end equals start", with(func(c *Campaign) { c.End = c.Start }), at, 0, DropInvalid},
		{"end before start", with(func(c *Campaign) { c.End = c.Start.Add(-time.Hour) }), at, 0, DropInvalid},
		{"invalid before expired", with(func(c *Campaign) { c.BidMicros = 0 }), at.Add(48 * time.Hour), 0, DropInvalid},
		{"not started", base, base.Start.Add(-time.Second), 0, DropExpired},
		{"ends now", base, base.End, 0, DropExpired},
		{"ended", base, base.End.Add(time.Hour), 0, DropExpired},
		{"spent the budget", base, at, 1000, DropOverBudget},
		{"spent over the budget", base, at, 5000, DropOverBudget},
		{"http URL", withAd(func(a *Ad) { a.URL = "http://shop.example/x" }), at, 0, DropBadCreative},
		{"URL without host", withAd(func(a *Ad) { a.URL = "https:///x" }), at, 0, DropBadCreative},
		{"not a URL", withAd(func(a *Ad) { a.URL = "shop.example" }), at, 0, DropBadCreative},
		{"width 0", withAd(func(a *Ad) { a.Width = 0 }), at, 0, DropBadCreative},
		{"negative height", withAd(func(a *Ad) { a.Height = -1 }), at, 0, DropBadCreative},
		{"empty text", withAd(func(a *Ad) { a.Text = "" }), at, 0, DropBadCreative},
		{"text too long", withAd(func(a *Ad) { a.Text = strings.Repeat("x", MaxAdText+1) }), at, 0, DropBadCreative},
		{"no ads", with(func(c *Campaign) { c.Ads = []Ad{} }), at, 0, DropBadCreative},
	}
	for _, tt := range tests {
		got, reason := Eligible(tt.c, tt.at, tt.spent)
		if reason != tt.reason {
			t.Errorf("%s: Eligible = %q, want %q", tt.name, reason, tt.reason)
			continue
		}
		if reason == "" && !reflect.DeepEqual(got, tt.c) {
			t.Errorf("%s: Eligible changed a valid campaign: %+v", tt.name, got)
		}
	}
}

func TestEligibleRemovesBadCreatives(t *testing.T) {
	t.Parallel()
	bad := Ad{ID: "a2", Width: 300, Height: 250, URL: "http://shop.example/y", Text: "Old deals"}
	good := Ad{ID: "a1", Width: 300, Height: 250, URL: "https://shop.example/x", Text: "Fresh deals"}
	c := Campaign{
		ID: "c1", Advertiser: "adv1", BudgetMicros: 1000, BidMicros: 10,
		Start: seedEpoch.Add(-time.Hour), End: seedEpoch.Add(time.Hour), Ads: []Ad{bad, good},
	}
	got, reason := Eligible(c, seedEpoch, 0)
	if reason != "" || !reflect.DeepEqual(got.Ads, []Ad{good}) {
		t.Fatalf("Eligible = %q with ads %+v, want the good ad alone", reason, got.Ads)
	}
	if len(c.Ads) != 2 || c.Ads[0] != bad {
		t.Errorf("Eligible changed its argument's ads: %+v", c.Ads)
	}
}

func TestParseCampaignRejectsMalformed(t *testing.T) {
	t.Parallel()
	for _, raw := range []string{
		`"{\"id\":\"c1\",\"adv`,
		`["c1","adv1"]`,
		`null`,
		`42`,
		`{"advertiser":"adv1","ads":[]}`,
		`{"id":"","advertiser":"adv1","ads":[]}`,
		`{"id":"c1","ads":[]}`,
		`{"id":"c1","advertiser":"adv1"}`,
		`{"id":"c1","advertiser":"adv1","ads":null}`,
		`{"id":"c1","advertiser":"adv1","ads":"see c1"}`,
		`{"id":12,"advertiser":"adv1","ads":[]}`,
		`{"id":"c1","advertiser":"adv1","ads":[],"bid_micros":"ten"}`,
	} {
		if c, err := ParseCampaign(json.RawMessage(raw)); err == nil {
			t.Errorf("ParseCampaign(%s) = %+v, want a malformed-record error", raw, c)
		}
	}
	c, err := ParseCampaign(json.RawMessage(`{"id":"c1","advertiser":"adv1","ads":[],"new_field":1}`))
	if err != nil || c.ID != "c1" {
		t.Errorf("ParseCampaign of a record with an unknown field = %+v, %v; want it parsed", c, err)
	}
}

// prePub publishes test messages onto a topic, as the stage before the one
// under test would.
type prePub[T any] struct {
	toil.Base[struct{}]

	Out queue.Publisher[T]
}

// preSink collects what the stage under test publishes.
type preSink[T any] struct {
	toil.Base[struct{}]

	In queue.Consumer[T]
}

// preEndpoint is a queue field's config for topic on the bus at url.
func preEndpoint(url, topic string) string {
	return "{url: " + url + ", topic: " + topic + "}"
}

// preStartPub starts a publisher of T onto topic of the bus at url.
func preStartPub[T any](t *testing.T, name, url, topic string) *prePub[T] {
	t.Helper()
	p := &prePub[T]{}
	toiltest.Run(t, p, toiltest.Name(name), toiltest.Config("out: "+preEndpoint(url, topic))).WaitReady()
	return p
}

// preStartSink starts a consumer of topic of the bus at url and returns the
// channel its messages arrive on.
func preStartSink[T any](t *testing.T, name, url, topic string) <-chan T {
	t.Helper()
	got := make(chan T, 1000)
	s := &preSink[T]{}
	s.In.Handler = func(ctx context.Context, v T) error {
		select {
		case got <- v:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	toiltest.Run(t, s, toiltest.Name(name), toiltest.Config("in: "+preEndpoint(url, topic))).WaitReady()
	return got
}

// preReceive waits for the next message on ch.
func preReceive[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(30 * time.Second):
		t.Fatalf("no %s arrived within 30s", what)
		panic("unreachable")
	}
}

// preMetric returns the value of the counter name whose labels include
// the pairs of want (name, value, name, value...), or -1 if there is none.
func preMetric(t *testing.T, st *toil.Stats, name string, want ...string) float64 {
	t.Helper()
	fams, err := st.Registry().Gather()
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
			for i := 0; i+1 < len(want); i += 2 {
				if labels[want[i]] != want[i+1] {
					continue next
				}
			}
			return m.GetCounter().GetValue()
		}
	}
	return -1
}

func TestPrefilterDropsAndCounts(t *testing.T) {
	t.Parallel()
	rs := testserver.Redis(t)
	bus := queuetest.MemURL(t)
	d := Seed(SeedConfig{Campaigns: 300, Placements: 4, Seed: 5, Epoch: seedEpoch})

	// The first campaign that passes has spent its whole budget.
	var broke Campaign
	for _, c := range d.Campaigns {
		if d.Reason(c.ID) == "" {
			broke = c
			break
		}
	}
	rdb := goredis.NewClient(&goredis.Options{Addr: rs.Addr()})
	defer rdb.Close()
	ctx := context.Background()
	if err := rdb.HSet(ctx, KeySpend, broke.ID, broke.BudgetMicros).Err(); err != nil {
		t.Fatal(err)
	}

	p := &Prefilter{}
	svc := toiltest.Run(t, p, toiltest.Config(
		"in: "+preEndpoint(bus, TopicBatches)+"\n"+
			"out: "+preEndpoint(bus, TopicCandidates)+"\n"+
			"redis: {url: "+rs.URL()+"}"))
	svc.WaitReady()
	out := preStartSink[Candidates](t, "test.scorer", bus, TopicCandidates)
	in := preStartPub[Batch](t, "test.warmer", bus, TopicBatches)

	job := PageJob{Cycle: 3, Page: 2, Pages: 5, Placements: d.Placements, At: d.Epoch}
	if err := in.Out.Publish(ctx, Batch{PageJob: job, Records: d.Records()}); err != nil {
		t.Fatal(err)
	}
	got := preReceive(t, out, "Candidates")
	if got.Cycle != 3 || got.Page != 2 || got.Pages != 5 || len(got.Placements) != 4 {
		t.Errorf("Candidates carry page %d/%d of cycle %d, %d placements; want the Batch's 2/5 of 3, 4",
			got.Page, got.Pages, got.Cycle, len(got.Placements))
	}

	// What must pass, from the seed's marks: the campaigns without a
	// reason, minus the one over budget, without their bad ads.
	var want []Campaign
	wantDrops := map[string]float64{DropOverBudget: 1}
	for _, c := range d.Campaigns {
		r := d.Reason(c.ID)
		if r != "" {
			wantDrops[r]++
			continue
		}
		if c.ID == broke.ID {
			continue
		}
		var ads []Ad
		for _, a := range c.Ads {
			if !d.BadAds[a.ID] {
				ads = append(ads, a)
			}
		}
		c.Ads = ads
		want = append(want, c)
	}
	if !reflect.DeepEqual(got.Campaigns, want) {
		t.Errorf("prefilter passed %d campaigns, want %d", len(got.Campaigns), len(want))
		for i := range min(len(got.Campaigns), len(want)) {
			if !reflect.DeepEqual(got.Campaigns[i], want[i]) {
				t.Errorf("first difference: got %+v\nwant %+v", got.Campaigns[i], want[i])
				break
			}
		}
	}
	for _, r := range []string{DropMalformed, DropInvalid, DropExpired, DropOverBudget, DropBadCreative} {
		if wantDrops[r] == 0 {
			t.Errorf("the seeded data has no %s campaign: the test checks nothing for it", r)
		}
		if n := preMetric(t, p.Stats, "tempest_prefilter_dropped_total", "reason", r); n != wantDrops[r] {
			t.Errorf("tempest_prefilter_dropped_total{reason=%q} = %v, want %v", r, n, wantDrops[r])
		}
	}
	if n := preMetric(t, p.Stats, "tempest_prefilter_passed_total"); n != float64(len(want)) {
		t.Errorf("tempest_prefilter_passed_total = %v, want %d", n, len(want))
	}

	// A page with nothing but malformed records still gives a Candidates,
	// so the cycle can complete, and the service keeps running.
	junk := []json.RawMessage{json.RawMessage(`"{\"id\":"`), json.RawMessage(`[1,2]`), json.RawMessage(`{"id":7}`)}
	job.Page = 3
	if err := in.Out.Publish(ctx, Batch{PageJob: job, Records: junk}); err != nil {
		t.Fatal(err)
	}
	got = preReceive(t, out, "Candidates of the malformed page")
	if got.Page != 3 || got.Campaigns == nil || len(got.Campaigns) != 0 {
		t.Errorf("Candidates of an all-malformed page = page %d with %v, want page 3 with an empty list", got.Page, got.Campaigns)
	}
	if n := preMetric(t, p.Stats, "tempest_prefilter_dropped_total", "reason", DropMalformed); n != wantDrops[DropMalformed]+3 {
		t.Errorf("malformed count = %v after 3 more, want %v", n, wantDrops[DropMalformed]+3)
	}
	select {
	case <-svc.Done():
		t.Fatalf("the prefilter stopped: %v", svc.Err())
	default:
	}
}
