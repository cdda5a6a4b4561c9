package tempest

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
)

// SeedConfig is what a seeded data set is made from: the same config
// always gives the same data, byte for byte.
type SeedConfig struct {
	Campaigns  int       // how many campaigns (records) to make
	Placements int       // how many placements to make
	Seed       int64     // the random seed: another seed, another data set
	Epoch      time.Time // the "now" schedules are built around
}

// Flaw is what is wrong on purpose with a seeded campaign as a whole, so
// tests know which records the prefilter must drop and why. Bad creatives
// are per ad (Data.BadAds).
type Flaw string

// The flaws Seed puts in on purpose. Each flawed campaign has exactly one.
const (
	// FlawMalformed is a record the inventory serves broken: a truncated
	// record (served as a JSON string, since a page is one JSON document),
	// a field of the wrong type, a missing id, or not an object.
	FlawMalformed Flaw = "malformed"
	// FlawInvalid is a bid of 0 or an End not after Start.
	FlawInvalid Flaw = "invalid"
	// FlawExpired is a campaign that ended more than a day before Epoch.
	FlawExpired Flaw = "expired"
	// FlawNotStarted is a campaign that starts more than a day after Epoch.
	FlawNotStarted Flaw = "not_started"
)

// Data is a seeded data set: what the inventory serves, and the marks that
// tell tests which parts of it are broken on purpose.
type Data struct {
	Epoch       time.Time    // SeedConfig.Epoch, in UTC, to the second
	Advertisers []Advertiser // about one per four campaigns
	Placements  []Placement  // in ID order
	// Campaigns are every campaign in record order, malformed ones too (as
	// they were before their record was broken).
	Campaigns []Campaign
	// Flaws maps the ID of each campaign broken on purpose to its flaw;
	// a campaign not in it has none (though some of its ads may be bad).
	Flaws map[string]Flaw
	// BadAds holds the ID of each ad whose creative is bad on purpose
	// (an http:// URL, an empty or too long text, a zero size).
	BadAds map[string]bool

	records []json.RawMessage
}

// Seed makes a data set from cfg, deterministically. About 5% of the
// campaigns are expired, 5% not started, 3% invalid and 2% malformed
// (FlawMalformed), about 5% of the ads have a bad creative, some campaigns
// have a frequency cap of 1 to 3, and some ad texts hold words of a
// brand-safety blocklist (casino, crypto, miracle). No Start or End falls
// within a day of Epoch, so whether a campaign runs at a time within a
// day of Epoch does not depend on that time.
func Seed(cfg SeedConfig) *Data {
	g := &seedGen{
		rng:   rand.New(rand.NewPCG(uint64(cfg.Seed), 0x7e3a5e5d)),
		epoch: cfg.Epoch.UTC().Truncate(time.Second),
	}
	d := &Data{
		Epoch:  g.epoch,
		Flaws:  map[string]Flaw{},
		BadAds: map[string]bool{},
	}
	for i := range max(1, cfg.Campaigns/4) {
		id := fmt.Sprintf("adv%03d", i+1)
		d.Advertisers = append(d.Advertisers, Advertiser{ID: id, Name: seedAdvertiserName(i)})
	}
	for i := range cfg.Placements {
		d.Placements = append(d.Placements, g.placement(i))
	}
	for i := range cfg.Campaigns {
		c, flaw := g.campaign(i, d)
		d.Campaigns = append(d.Campaigns, c)
		if flaw != "" {
			d.Flaws[c.ID] = flaw
		}
		raw, err := json.Marshal(c)
		if err != nil {
			// A Campaign always marshals; this is a bug in the type.
			panic(fmt.Sprintf("marshal seeded campaign %s: %v", c.ID, err))
		}
		if flaw == FlawMalformed {
			raw = g.malform(raw, c)
		}
		d.records = append(d.records, raw)
	}
	return d
}

// Records returns the raw records the inventory serves, one per campaign in
// campaign order, malformed ones included. Every record is one JSON value.
func (d *Data) Records() []json.RawMessage {
	return append([]json.RawMessage(nil), d.records...)
}

// Reason returns why the prefilter must drop the campaign id at a time
// within a day of Epoch with nothing spent yet, from the marks Seed left
// (not from the prefilter's rules): DropMalformed, DropInvalid, DropExpired
// (for expired and not-started campaigns alike), DropBadCreative when every
// ad is bad, or "" when it passes.
func (d *Data) Reason(id string) string {
	switch d.Flaws[id] {
	case FlawMalformed:
		return DropMalformed
	case FlawInvalid:
		return DropInvalid
	case FlawExpired, FlawNotStarted:
		return DropExpired
	}
	for _, c := range d.Campaigns {
		if c.ID != id {
			continue
		}
		for _, a := range c.Ads {
			if !d.BadAds[a.ID] {
				return ""
			}
		}
		return DropBadCreative
	}
	return ""
}

// The value sets seeded data is drawn from.
var (
	seedSizes      = [][2]int{{300, 250}, {728, 90}, {160, 600}, {320, 50}}
	seedCategories = []string{"news", "sports", "tech", "finance", "travel", "games"}
	seedGeos       = []string{"us", "gb", "de", "fr"}
	seedDevices    = []string{"desktop", "mobile"}
	seedSites      = []string{"daily-planet", "stadium", "bytes", "ledger", "wanderer", "arcade"}
	seedSlots      = []string{"top", "side", "inline", "footer"}
	seedWords      = []string{"Fresh", "Fast", "Bold", "Smart", "Bright", "Quiet", "Grand", "Swift"}
	seedNouns      = []string{"deals", "gear", "tickets", "news", "savings", "trips", "games", "tools"}
	// seedBlocked are words of a brand-safety blocklist, put in some ad
	// texts so the postfilter has something to drop.
	seedBlocked = []string{"casino", "crypto", "miracle"}
)

// seedGen draws everything from one random stream, in a fixed order, so
// the same config gives the same data.
type seedGen struct {
	rng   *rand.Rand
	epoch time.Time
}

func seedAdvertiserName(i int) string {
	return fmt.Sprintf("%s %s %d", seedWords[i%len(seedWords)], seedNouns[(i/len(seedWords))%len(seedNouns)], i+1)
}

func (g *seedGen) pick(from []string) string { return from[g.rng.IntN(len(from))] }

// subset returns an empty list half the time (any value allowed), else one
// or two distinct values of from.
func (g *seedGen) subset(from []string) []string {
	if g.rng.IntN(2) == 0 {
		return nil
	}
	first := g.rng.IntN(len(from))
	out := []string{from[first]}
	if g.rng.IntN(2) == 0 {
		second := (first + 1 + g.rng.IntN(len(from)-1)) % len(from)
		out = append(out, from[second])
	}
	return out
}

// days returns a duration of lo to hi whole days plus some hours.
func (g *seedGen) days(lo, hi int) time.Duration {
	return time.Duration(lo+g.rng.IntN(hi-lo+1))*24*time.Hour + time.Duration(g.rng.IntN(24))*time.Hour
}

func (g *seedGen) placement(i int) Placement {
	size := seedSizes[g.rng.IntN(len(seedSizes))]
	site := g.pick(seedSites)
	return Placement{
		ID:       fmt.Sprintf("p%03d", i+1),
		Site:     site + ".example",
		Slot:     g.pick(seedSlots),
		Category: g.pick(seedCategories),
		Geo:      g.pick(seedGeos),
		Device:   g.pick(seedDevices),
		Width:    size[0],
		Height:   size[1],
	}
}

// campaign makes campaign i and marks its flaw and bad ads in d.
func (g *seedGen) campaign(i int, d *Data) (Campaign, Flaw) {
	adv := d.Advertisers[g.rng.IntN(len(d.Advertisers))]
	c := Campaign{
		ID:           fmt.Sprintf("c%05d", i+1),
		Advertiser:   adv.ID,
		BudgetMicros: int64(50+g.rng.IntN(4951)) * 1_000_000,
		BidMicros:    int64(500+g.rng.IntN(19501)) * 1_000,
		Start:        g.epoch.Add(-g.days(2, 30)),
		End:          g.epoch.Add(g.days(2, 60)),
		Targeting: Targeting{
			Categories: g.subset(seedCategories),
			Geos:       g.subset(seedGeos),
			Devices:    g.subset(seedDevices),
		},
	}
	if g.rng.IntN(5) == 0 {
		c.FreqCap = 1 + g.rng.IntN(3)
	}
	for j := range 1 + g.rng.IntN(3) {
		a := g.ad(c, j)
		if g.rng.IntN(20) == 0 {
			a = g.badCreative(a)
			d.BadAds[a.ID] = true
		}
		c.Ads = append(c.Ads, a)
	}
	var flaw Flaw
	switch r := g.rng.IntN(100); {
	case r < 2:
		flaw = FlawMalformed
	case r < 5:
		flaw = FlawInvalid
		if g.rng.IntN(2) == 0 {
			c.BidMicros = 0
		} else {
			c.End = c.Start.Add(-g.days(1, 5))
		}
	case r < 10:
		flaw = FlawExpired
		c.End = g.epoch.Add(-g.days(2, 20))
		c.Start = c.End.Add(-g.days(5, 30))
	case r < 15:
		flaw = FlawNotStarted
		c.Start = g.epoch.Add(g.days(2, 20))
		c.End = c.Start.Add(g.days(5, 30))
	}
	return c, flaw
}

func (g *seedGen) ad(c Campaign, j int) Ad {
	size := seedSizes[g.rng.IntN(len(seedSizes))]
	text := g.pick(seedWords) + " " + g.pick(seedNouns) + " from " + c.Advertiser
	if g.rng.IntN(12) == 0 {
		text += ", " + g.pick(seedBlocked) + " inside"
	}
	return Ad{
		ID:     fmt.Sprintf("%s-a%d", c.ID, j+1),
		Width:  size[0],
		Height: size[1],
		URL:    "https://" + c.Advertiser + ".example/" + c.ID + "/" + strconv.Itoa(j+1),
		Text:   text,
	}
}

// badCreative breaks a in one of the ways the prefilter checks.
func (g *seedGen) badCreative(a Ad) Ad {
	switch g.rng.IntN(4) {
	case 0:
		a.URL = "http://" + strings.TrimPrefix(a.URL, "https://")
	case 1:
		a.Text = ""
	case 2:
		a.Text = strings.Repeat(a.Text+" ", MaxAdText/len(a.Text)+2)
	default:
		if g.rng.IntN(2) == 0 {
			a.Width = 0
		} else {
			a.Height = 0
		}
	}
	return a
}

// malform turns a campaign's record into one the prefilter must count as
// malformed. Every variant is still one JSON value, as a page of records is
// one JSON document.
func (g *seedGen) malform(raw json.RawMessage, c Campaign) json.RawMessage {
	var out any
	switch g.rng.IntN(4) {
	case 0: // truncated in transit: not a JSON object, only its text
		out = string(raw[:len(raw)/2])
	case 1: // a field of the wrong type
		var m map[string]any
		_ = json.Unmarshal(raw, &m)
		m["ads"] = "see " + c.ID
		out = m
	case 2: // the id is missing
		var m map[string]any
		_ = json.Unmarshal(raw, &m)
		delete(m, "id")
		out = m
	default: // not an object
		out = []string{c.ID, c.Advertiser}
	}
	b, err := json.Marshal(out)
	if err != nil {
		panic(fmt.Sprintf("marshal malformed record of %s: %v", c.ID, err))
	}
	return b
}
