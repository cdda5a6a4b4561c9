package tempest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/url"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/toilhq/toil"
	"github.com/toilhq/toil/queue"
	"github.com/toilhq/toil/redis"
)

// The reasons the prefilter drops a record, the reason label of
// tempest_prefilter_dropped_total.
const (
	DropMalformed   = "malformed"    // not an object, or id, advertiser or ads missing
	DropInvalid     = "invalid"      // bid or budget ≤ 0, or End not after Start
	DropExpired     = "expired"      // the cycle's time is outside [Start, End)
	DropOverBudget  = "over_budget"  // tempest:spend has reached the budget
	DropBadCreative = "bad_creative" // no ad with a valid creative left
)

// PrefilterConfig is the prefilter's config, under tempest.prefilter. Its
// fields' own settings are under in:, out: and redis:.
type PrefilterConfig struct{}

// Prefilter parses each page of raw records the warmer fetched and passes
// on the campaigns that may run: it drops malformed records and invalid,
// expired, over-budget and bad-creative campaigns, counting each reason in
// tempest_prefilter_dropped_total{reason}, and removes the bad creatives
// of the campaigns it keeps. It publishes one Candidates per Batch, even an
// empty one, so the postfilter can tell when a cycle is complete.
type Prefilter struct {
	toil.Base[PrefilterConfig]

	In    queue.Consumer[Batch]       // the warmer's pages (TopicBatches)
	Out   queue.Publisher[Candidates] // to the scorer (TopicCandidates)
	Redis redis.Client                // tempest:spend, for the budget check
}

// Setup creates the counters, so every reason shows in /metrics from the
// start, at 0.
func (p *Prefilter) Setup(ctx context.Context) error {
	for _, r := range []string{DropMalformed, DropInvalid, DropExpired, DropOverBudget, DropBadCreative} {
		p.preDropped().WithLabelValues(r)
	}
	p.prePassed()
	return nil
}

// OnMessage filters one page. A record that cannot be parsed is counted
// and dropped, never an error; an error (Redis unreachable, the publish
// failing) retries the whole page.
func (p *Prefilter) OnMessage(ctx context.Context, b Batch) error {
	var parsed []Campaign
	malformed := 0
	for _, raw := range b.Records {
		c, err := ParseCampaign(raw)
		if err != nil {
			malformed++
			continue
		}
		parsed = append(parsed, c)
	}
	spent, err := p.preSpent(ctx, parsed)
	if err != nil {
		return err
	}
	drops := map[string]int{DropMalformed: malformed}
	out := Candidates{PageJob: b.PageJob, Campaigns: []Campaign{}}
	for _, c := range parsed {
		kept, reason := Eligible(c, b.At, spent[c.ID])
		if reason != "" {
			drops[reason]++
			continue
		}
		out.Campaigns = append(out.Campaigns, kept)
	}
	if err := p.Out.Publish(ctx, out); err != nil {
		return fmt.Errorf("publish candidates of cycle %d page %d: %w", b.Cycle, b.Page, err)
	}
	// Counted once published: a retried page is counted once.
	for reason, n := range drops {
		p.preDropped().WithLabelValues(reason).Add(float64(n))
	}
	p.prePassed().Add(float64(len(out.Campaigns)))
	return nil
}

// preSpent reads what each campaign has spent so far, in one HMGET.
// A campaign with no spend recorded has spent 0.
func (p *Prefilter) preSpent(ctx context.Context, cs []Campaign) (map[string]int64, error) {
	spent := make(map[string]int64, len(cs))
	if len(cs) == 0 {
		return spent, nil
	}
	ids := make([]string, len(cs))
	for i, c := range cs {
		ids[i] = c.ID
	}
	vals, err := p.Redis.HMGet(ctx, KeySpend, ids...).Result()
	if err != nil {
		return nil, fmt.Errorf("read spend of %d campaigns from %s: %w", len(ids), KeySpend, err)
	}
	for i, v := range vals {
		s, ok := v.(string)
		if !ok {
			continue // nil: nothing spent yet
		}
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			// The stats service writes integers; anything else is
			// someone else's bug, and blocking the campaign is safer
			// than running it without a budget.
			p.Log.WarnContext(ctx, "spend is not an integer: campaign treated as over budget",
				"campaign", ids[i], "spend", s)
			n = math.MaxInt64
		}
		spent[ids[i]] = n
	}
	return spent, nil
}

func (p *Prefilter) preDropped() *prometheus.CounterVec {
	return p.Stats.CounterVec("tempest_prefilter_dropped_total", "Records the prefilter dropped, by reason.", "reason")
}

func (p *Prefilter) prePassed() prometheus.Counter {
	return p.Stats.Counter("tempest_prefilter_passed_total", "Campaigns the prefilter passed on to the scorer.")
}

// ParseCampaign parses one raw inventory record. It fails, making the
// record malformed, when the record is not a JSON object of the Campaign
// shape, or when its id, advertiser or ads are missing.
func ParseCampaign(raw json.RawMessage) (Campaign, error) {
	var c Campaign
	if err := json.Unmarshal(raw, &c); err != nil {
		return Campaign{}, fmt.Errorf("malformed record: %w", err)
	}
	switch {
	case c.ID == "":
		return Campaign{}, errors.New("malformed record: no id")
	case c.Advertiser == "":
		return Campaign{}, fmt.Errorf("malformed record %s: no advertiser", c.ID)
	case c.Ads == nil:
		return Campaign{}, fmt.Errorf("malformed record %s: no ads", c.ID)
	}
	return c, nil
}

// Eligible is the prefilter's rule for one parsed campaign at the cycle's
// time at, having spent spent micro-dollars. It returns the campaign with
// its bad creatives removed and "", or the zero Campaign and why it is
// dropped: DropInvalid, DropExpired, DropOverBudget or DropBadCreative
// (when no ad is left), checked in that order.
func Eligible(c Campaign, at time.Time, spent int64) (Campaign, string) {
	switch {
	case c.BidMicros <= 0 || c.BudgetMicros <= 0 || !c.End.After(c.Start):
		return Campaign{}, DropInvalid
	case at.Before(c.Start) || !at.Before(c.End):
		return Campaign{}, DropExpired
	case spent >= c.BudgetMicros:
		return Campaign{}, DropOverBudget
	}
	var ads []Ad
	for _, a := range c.Ads {
		if GoodCreative(a) {
			ads = append(ads, a)
		}
	}
	if len(ads) == 0 {
		return Campaign{}, DropBadCreative
	}
	c.Ads = ads
	return c, ""
}

// GoodCreative reports whether an ad may be shown: an https URL with a
// host, a positive size and a text of 1 to MaxAdText bytes.
func GoodCreative(a Ad) bool {
	if a.Width <= 0 || a.Height <= 0 || a.Text == "" || len(a.Text) > MaxAdText {
		return false
	}
	u, err := url.Parse(a.URL)
	return err == nil && u.Scheme == "https" && u.Host != ""
}
