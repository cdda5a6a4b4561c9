package tempest_test

import (
	"cmp"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/toilhq/toil/tempest"
)

// The oracle: what web must serve for a seeded data set, computed from
// the spec (not from the stages' code) so the end-to-end test checks the
// pipeline against an independent reading of the rules. Only the CTR model
// is shared: it is a formula, not a rule, and the oracle calls the
// exported tempest.CTR as the scorer does.

// oracleAd is one ad of a slate as the oracle ranks it.
type oracleAd struct {
	Placement  string
	ID         string
	Campaign   string
	Advertiser string
	FreqCap    int
	Text       string
	URL        string
	Score      float64
}

// oracleInput is what the slates depend on besides the seed data.
type oracleInput struct {
	At        time.Time        // the cycle's time
	Spent     map[string]int64 // tempest:spend, campaign → micro-dollars
	Blocklist []string
	SlateSize int
}

// oracleResult is the slates by placement ID, and what each rule dropped,
// so a test can check that its data exercised every rule.
type oracleResult struct {
	Slates map[string][]oracleAd
	Drops  map[string]int // reason → ads (or campaigns, for eligibility)
}

// oracleSlates ranks the seeded data d for every placement.
func oracleSlates(d *tempest.Data, in oracleInput) oracleResult {
	res := oracleResult{Slates: map[string][]oracleAd{}, Drops: map[string]int{}}
	var campaigns []tempest.Campaign
	for _, c := range d.Campaigns {
		kept, reason := oracleEligible(d, c, in)
		if reason != "" {
			res.Drops[reason]++
			continue
		}
		campaigns = append(campaigns, kept)
	}

	// Score every matching ad for every placement; drop blocklisted ones.
	byPlacement := map[string][]oracleAd{}
	for _, p := range d.Placements {
		byPlacement[p.ID] = nil
		for _, c := range campaigns {
			for _, a := range c.Ads {
				if !oracleMatches(p, c, a) {
					continue
				}
				ad := oracleAd{
					Placement: p.ID, ID: a.ID, Campaign: c.ID, Advertiser: c.Advertiser,
					FreqCap: c.FreqCap, Text: a.Text, URL: a.URL,
					Score: tempest.CTR(tempest.ModelV1, p, c, a) * float64(c.BidMicros),
				}
				if oracleBlocked(ad, in.Blocklist) {
					res.Drops["brand_safety"]++
					continue
				}
				byPlacement[p.ID] = append(byPlacement[p.ID], ad)
			}
		}
	}

	// Best first, ties by ad ID; one ad per advertiser.
	for id, ads := range byPlacement {
		slices.SortFunc(ads, func(a, b oracleAd) int {
			if c := cmp.Compare(b.Score, a.Score); c != 0 {
				return c
			}
			return strings.Compare(a.ID, b.ID)
		})
		seen := map[string]bool{}
		var kept []oracleAd
		for _, a := range ads {
			if seen[a.Advertiser] {
				res.Drops["advertiser_dup"]++
				continue
			}
			seen[a.Advertiser] = true
			kept = append(kept, a)
		}
		byPlacement[id] = kept
	}

	// Frequency caps across all slates: a capped campaign keeps its
	// FreqCap best entries (ties by placement ID).
	entries := map[string][]oracleAd{}
	for _, ads := range byPlacement {
		for _, a := range ads {
			if a.FreqCap > 0 {
				entries[a.Campaign] = append(entries[a.Campaign], a)
			}
		}
	}
	dropped := map[[2]string]bool{} // (placement, ad)
	for _, es := range entries {
		slices.SortFunc(es, func(a, b oracleAd) int {
			if c := cmp.Compare(b.Score, a.Score); c != 0 {
				return c
			}
			return strings.Compare(a.Placement, b.Placement)
		})
		for _, a := range es[min(len(es), es[0].FreqCap):] {
			dropped[[2]string{a.Placement, a.ID}] = true
			res.Drops["freq_cap"]++
		}
	}
	for id, ads := range byPlacement {
		var kept []oracleAd
		for _, a := range ads {
			if !dropped[[2]string{a.Placement, a.ID}] {
				kept = append(kept, a)
			}
		}
		if len(kept) > in.SlateSize {
			res.Drops["slate_size"] += len(kept) - in.SlateSize
			kept = kept[:in.SlateSize]
		}
		res.Slates[id] = kept
	}
	return res
}

// oracleEligible is the prefilter's rule, read from the spec: c as it may
// run (its bad creatives removed), or why it may not.
func oracleEligible(d *tempest.Data, c tempest.Campaign, in oracleInput) (tempest.Campaign, string) {
	switch {
	case d.Flaws[c.ID] == tempest.FlawMalformed:
		// The inventory serves its record broken, so nothing of it can
		// be read: the seed marks which.
		return c, "malformed"
	case c.BidMicros <= 0 || c.BudgetMicros <= 0 || !c.End.After(c.Start):
		return c, "invalid"
	case in.At.Before(c.Start) || !in.At.Before(c.End):
		return c, "expired"
	case in.Spent[c.ID] >= c.BudgetMicros:
		return c, "over_budget"
	}
	var ads []tempest.Ad
	for _, a := range c.Ads {
		if oracleGoodCreative(a) {
			ads = append(ads, a)
		}
	}
	if len(ads) == 0 {
		return c, "bad_creative"
	}
	c.Ads = ads
	return c, ""
}

// oracleGoodCreative: an https URL with a host, a size, and a text of 1 to
// MaxAdText bytes.
func oracleGoodCreative(a tempest.Ad) bool {
	u, err := url.Parse(a.URL)
	return err == nil && u.Scheme == "https" && u.Host != "" &&
		a.Width > 0 && a.Height > 0 &&
		len(a.Text) > 0 && len(a.Text) <= tempest.MaxAdText
}

// oracleMatches: the ad is the placement's size, and each targeting list
// is empty or holds the placement's value.
func oracleMatches(p tempest.Placement, c tempest.Campaign, a tempest.Ad) bool {
	allows := func(list []string, v string) bool { return len(list) == 0 || slices.Contains(list, v) }
	return a.Width == p.Width && a.Height == p.Height &&
		allows(c.Targeting.Categories, p.Category) &&
		allows(c.Targeting.Geos, p.Geo) &&
		allows(c.Targeting.Devices, p.Device)
}

// oracleBlocked: the text or URL holds a blocklisted word, in any case.
func oracleBlocked(a oracleAd, blocklist []string) bool {
	text, u := strings.ToLower(a.Text), strings.ToLower(a.URL)
	for _, w := range blocklist {
		w = strings.ToLower(w)
		if strings.Contains(text, w) || strings.Contains(u, w) {
			return true
		}
	}
	return false
}

// TestOracleAgreesWithTheSeedsMarks checks the oracle's eligibility
// against what Seed says it broke on purpose, so a wrong oracle fails here
// rather than blaming the pipeline in the end-to-end test.
func TestOracleAgreesWithTheSeedsMarks(t *testing.T) {
	t.Parallel()
	epoch := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	d := tempest.Seed(tempest.SeedConfig{Campaigns: 300, Placements: 24, Seed: 7, Epoch: epoch})
	in := oracleInput{At: epoch.Add(3 * time.Hour), SlateSize: 10}
	for _, c := range d.Campaigns {
		_, got := oracleEligible(d, c, in)
		if want := d.Reason(c.ID); got != want {
			t.Errorf("campaign %s: the oracle says %q, the seed's marks say %q", c.ID, got, want)
		}
	}
}
