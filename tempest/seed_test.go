package tempest

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
)

// seedEpoch is the epoch the sources' tests seed with, so a test can make
// the same data the inventory it starts serves.
var seedEpoch = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func TestSeedIsReproducible(t *testing.T) {
	t.Parallel()
	cfg := SeedConfig{Campaigns: 300, Placements: 12, Seed: 42, Epoch: seedEpoch}
	a, b := Seed(cfg), Seed(cfg)
	if !reflect.DeepEqual(a.Records(), b.Records()) {
		t.Fatal("two seeds of the same config serve different records")
	}
	if !reflect.DeepEqual(a, b) {
		t.Fatal("two seeds of the same config give different data")
	}
	cfg.Seed = 43
	c := Seed(cfg)
	if reflect.DeepEqual(a.Records(), c.Records()) {
		t.Fatal("seeds 42 and 43 serve the same records")
	}
}

func TestSeedShape(t *testing.T) {
	t.Parallel()
	const n = 2000
	d := Seed(SeedConfig{Campaigns: n, Placements: 24, Seed: 1, Epoch: seedEpoch})
	records := d.Records()
	if len(records) != n || len(d.Campaigns) != n || len(d.Placements) != 24 {
		t.Fatalf("%d records, %d campaigns, %d placements; want %d, %d, 24",
			len(records), len(d.Campaigns), len(d.Placements), n, n)
	}
	if len(d.Advertisers) != n/4 {
		t.Errorf("%d advertisers, want %d", len(d.Advertisers), n/4)
	}
	sizes := map[[2]int]bool{{300, 250}: true, {728, 90}: true, {160, 600}: true, {320, 50}: true}
	for _, p := range d.Placements {
		if !sizes[[2]int{p.Width, p.Height}] {
			t.Errorf("placement %s has size %dx%d, not one of the seeded sizes", p.ID, p.Width, p.Height)
		}
	}
	day := 24 * time.Hour
	flaws := map[Flaw]int{}
	var capped, blocked, badAds, ads int
	for i, c := range d.Campaigns {
		flaws[d.Flaws[c.ID]]++
		if c.FreqCap > 0 {
			capped++
		}
		if len(c.Ads) < 1 || len(c.Ads) > 3 {
			t.Errorf("campaign %s has %d ads, want 1 to 3", c.ID, len(c.Ads))
		}
		for _, ts := range []time.Time{c.Start, c.End} {
			if ts.Sub(d.Epoch).Abs() <= day {
				t.Errorf("campaign %s has a Start or End (%s) within a day of the epoch %s", c.ID, ts, d.Epoch)
			}
		}
		switch d.Flaws[c.ID] {
		case FlawExpired:
			if !c.End.Before(d.Epoch.Add(-day)) {
				t.Errorf("expired campaign %s ends at %s, not a day before the epoch", c.ID, c.End)
			}
		case FlawNotStarted:
			if !c.Start.After(d.Epoch.Add(day)) {
				t.Errorf("not-started campaign %s starts at %s, not a day after the epoch", c.ID, c.Start)
			}
		case FlawInvalid:
			if c.BidMicros > 0 && c.End.After(c.Start) {
				t.Errorf("invalid campaign %s has a bid and an End after its Start", c.ID)
			}
		}
		for _, a := range c.Ads {
			ads++
			if d.BadAds[a.ID] {
				badAds++
			}
			if d.BadAds[a.ID] == GoodCreative(a) {
				t.Errorf("ad %s: marked bad %v, but GoodCreative says %v", a.ID, d.BadAds[a.ID], GoodCreative(a))
			}
			for _, w := range seedBlocked {
				if strings.Contains(a.Text, w) {
					blocked++
				}
			}
		}
		got, err := ParseCampaign(records[i])
		if d.Flaws[c.ID] == FlawMalformed {
			if err == nil {
				t.Errorf("malformed record %d (%s) parses: %s", i, c.ID, records[i])
			}
			continue
		}
		if err != nil {
			t.Errorf("record %d (%s) does not parse: %v", i, c.ID, err)
		} else if !reflect.DeepEqual(got, c) {
			t.Errorf("record %d parses to %+v, want %+v", i, got, c)
		}
	}
	// The shares are random; the bounds are wide enough never to fail on a
	// sound generator and narrow enough to catch a missing or runaway kind.
	share := func(what string, got, of int, lo, hi float64) {
		t.Helper()
		if f := float64(got) / float64(of); f < lo || f > hi {
			t.Errorf("%s: %d of %d (%.3f), want a share in [%g, %g]", what, got, of, f, lo, hi)
		}
	}
	share("expired", flaws[FlawExpired], n, 0.03, 0.07)
	share("not started", flaws[FlawNotStarted], n, 0.03, 0.07)
	share("invalid", flaws[FlawInvalid], n, 0.015, 0.045)
	share("malformed", flaws[FlawMalformed], n, 0.01, 0.03)
	share("bad creatives", badAds, ads, 0.03, 0.07)
	share("frequency capped", capped, n, 0.1, 0.3)
	share("blocklisted texts", blocked, ads, 0.03, 0.15)
}

// TestSeedMalformsEveryWay checks each kind of malformed record the
// prefilter must survive is served.
func TestSeedMalformsEveryWay(t *testing.T) {
	t.Parallel()
	d := Seed(SeedConfig{Campaigns: 2000, Placements: 1, Seed: 3, Epoch: seedEpoch})
	kinds := map[string]int{}
	for i, raw := range d.Records() {
		if d.Flaws[d.Campaigns[i].ID] != FlawMalformed {
			continue
		}
		if !json.Valid(raw) {
			t.Errorf("record %d is not one JSON value: %s", i, raw)
		}
		var m map[string]any
		switch {
		case raw[0] == '"':
			kinds["truncated"]++
		case raw[0] == '[':
			kinds["not an object"]++
		case json.Unmarshal(raw, &m) == nil && m["id"] == nil:
			kinds["no id"]++
		case bytes.Contains(raw, []byte(`"ads":"`)):
			kinds["wrong type"]++
		default:
			t.Errorf("malformed record %d is none of the kinds: %s", i, raw)
		}
	}
	for _, k := range []string{"truncated", "not an object", "no id", "wrong type"} {
		if kinds[k] == 0 {
			t.Errorf("no malformed record of kind %q among %v", k, kinds)
		}
	}
}

// TestSeedReasonsAgreeWithEligible checks the marks Seed leaves against the
// prefilter's rule: two independent accounts of the same records.
func TestSeedReasonsAgreeWithEligible(t *testing.T) {
	t.Parallel()
	d := Seed(SeedConfig{Campaigns: 1000, Placements: 1, Seed: 9, Epoch: seedEpoch})
	reasons := map[string]int{}
	for i, raw := range d.Records() {
		id := d.Campaigns[i].ID
		want := d.Reason(id)
		reasons[want]++
		c, err := ParseCampaign(raw)
		if err != nil {
			if want != DropMalformed {
				t.Errorf("%s does not parse (%v) but Reason says %q", id, err, want)
			}
			continue
		}
		// Any time within a day of the epoch judges the same.
		for _, at := range []time.Time{d.Epoch, d.Epoch.Add(23 * time.Hour), d.Epoch.Add(-23 * time.Hour)} {
			if _, got := Eligible(c, at, 0); got != want {
				t.Errorf("Eligible(%s, %s) = %q, Reason = %q", id, at, got, want)
			}
		}
	}
	for _, r := range []string{"", DropMalformed, DropInvalid, DropExpired, DropBadCreative} {
		if reasons[r] == 0 {
			t.Errorf("no campaign with reason %q among %v", r, reasons)
		}
	}
}
