package tempest

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// scoreSizes are the ad sizes the fixtures use, as [width, height].
var scoreSizes = [][2]int{{300, 250}, {728, 90}, {160, 600}, {320, 50}}

// scoreFixture is a small, varied, reproducible cycle: placements of every
// size, category, geo and device, and campaigns with and without targeting,
// several ads, freq caps, shared advertisers and some blocklisted texts.
func scoreFixture(campaigns, placements int) ([]Placement, []Campaign) {
	r := rand.New(rand.NewPCG(1, 2))
	categories := []string{"news", "sports", "tech", "finance", "travel", "games"}
	geos := []string{"us", "gb", "de", "fr"}
	devices := []string{"desktop", "mobile"}
	var ps []Placement
	for i := range placements {
		size := scoreSizes[i%len(scoreSizes)]
		ps = append(ps, Placement{
			ID:       fmt.Sprintf("p%02d", i),
			Site:     fmt.Sprintf("site%d.example", i%5),
			Slot:     fmt.Sprintf("slot%d", i%3),
			Category: categories[i%len(categories)],
			Geo:      geos[i%len(geos)],
			Device:   devices[i%len(devices)],
			Width:    size[0],
			Height:   size[1],
		})
	}
	pick := func(from []string) []string {
		if r.IntN(2) == 0 {
			return nil // any
		}
		return []string{from[r.IntN(len(from))], from[r.IntN(len(from))]}
	}
	var cs []Campaign
	epoch := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range campaigns {
		c := Campaign{
			ID:           fmt.Sprintf("c%03d", i),
			Advertiser:   fmt.Sprintf("adv%02d", r.IntN(campaigns/4+1)),
			BudgetMicros: 1_000_000_000,
			BidMicros:    int64(500_000 + r.IntN(5_000_000)),
			Start:        epoch.Add(-48 * time.Hour),
			End:          epoch.Add(48 * time.Hour),
			Targeting:    Targeting{Categories: pick(categories), Geos: pick(geos), Devices: pick(devices)},
			FreqCap:      r.IntN(4) * r.IntN(2), // half uncapped
		}
		for j := range 1 + r.IntN(3) {
			size := scoreSizes[r.IntN(len(scoreSizes))]
			text := strings.Repeat("Buy now. ", 1+r.IntN(8))
			if r.IntN(15) == 0 {
				text = "Best casino deals"
			}
			c.Ads = append(c.Ads, Ad{
				ID:     fmt.Sprintf("%s-a%d", c.ID, j),
				Width:  size[0],
				Height: size[1],
				URL:    "https://shop.example/" + c.ID,
				Text:   text,
			})
		}
		cs = append(cs, c)
	}
	return ps, cs
}

func TestMatches(t *testing.T) {
	t.Parallel()
	p := Placement{ID: "p1", Category: "news", Geo: "us", Device: "mobile", Width: 300, Height: 250}
	ad := Ad{ID: "a1", Width: 300, Height: 250}
	tests := []struct {
		name      string
		targeting Targeting
		ad        Ad
		want      bool
	}{
		{"no targeting, same size", Targeting{}, ad, true},
		{"other width", Targeting{}, Ad{Width: 728, Height: 250}, false},
		{"other height", Targeting{}, Ad{Width: 300, Height: 90}, false},
		{"category listed", Targeting{Categories: []string{"sports", "news"}}, ad, true},
		{"category not listed", Targeting{Categories: []string{"sports"}}, ad, false},
		{"geo listed", Targeting{Geos: []string{"us"}}, ad, true},
		{"geo not listed", Targeting{Geos: []string{"gb", "de"}}, ad, false},
		{"device listed", Targeting{Devices: []string{"mobile"}}, ad, true},
		{"device not listed", Targeting{Devices: []string{"desktop"}}, ad, false},
		{"all listed", Targeting{Categories: []string{"news"}, Geos: []string{"us"}, Devices: []string{"mobile"}}, ad, true},
		{"one of three not listed", Targeting{Categories: []string{"news"}, Geos: []string{"fr"}, Devices: []string{"mobile"}}, ad, false},
	}
	for _, tt := range tests {
		c := Campaign{ID: "c1", Targeting: tt.targeting}
		if got := Matches(p, c, tt.ad); got != tt.want {
			t.Errorf("%s: Matches(%+v, targeting %+v, ad %dx%d) = %v, want %v",
				tt.name, p, tt.targeting, tt.ad.Width, tt.ad.Height, got, tt.want)
		}
	}
}

func TestCTRIsAProbabilityDeterministicAndDiffersByModel(t *testing.T) {
	t.Parallel()
	ps, cs := scoreFixture(60, 24)
	n := 0
	for _, p := range ps {
		for _, c := range cs {
			for _, a := range c.Ads {
				v1, v2 := CTR(ModelV1, p, c, a), CTR(ModelV2, p, c, a)
				for _, v := range []float64{v1, v2} {
					if !(v > 0 && v < 1) {
						t.Fatalf("CTR(%s, %s, %s) = %v, want it in (0, 1)", p.ID, c.ID, a.ID, v)
					}
				}
				if again := CTR(ModelV1, p, c, a); again != v1 {
					t.Fatalf("CTR(v1, %s, %s, %s) = %v then %v: not deterministic", p.ID, c.ID, a.ID, v1, again)
				}
				if v1 == v2 {
					t.Errorf("CTR(%s, %s, %s): v1 and v2 both %v, want the models to differ", p.ID, c.ID, a.ID, v1)
				}
				n++
			}
		}
	}
	if n == 0 {
		t.Fatal("the fixture has no ads")
	}
}

func TestCTRUnknownModelScoresAsV1(t *testing.T) {
	t.Parallel()
	ps, cs := scoreFixture(4, 2)
	p, c := ps[0], cs[0]
	if got, want := CTR("v3-typo", p, c, c.Ads[0]), CTR(ModelV1, p, c, c.Ads[0]); got != want {
		t.Errorf("CTR(unknown model) = %v, want v1's %v", got, want)
	}
}

func TestCTRRewardsExplicitCategoryTargeting(t *testing.T) {
	t.Parallel()
	p := Placement{ID: "p1", Category: "tech", Geo: "us", Device: "desktop", Width: 300, Height: 250}
	a := Ad{ID: "a1", Width: 300, Height: 250, URL: "https://x.example", Text: "Fast laptops"}
	anyCategory := Campaign{ID: "c1"}
	tech := Campaign{ID: "c2", Targeting: Targeting{Categories: []string{"tech"}}}
	for _, model := range []string{ModelV1, ModelV2} {
		if CTR(model, p, tech, a) <= CTR(model, p, anyCategory, a) {
			t.Errorf("%s: a campaign targeting the placement's category scores %v, no more than one targeting any (%v)",
				model, CTR(model, p, tech, a), CTR(model, p, anyCategory, a))
		}
	}
}
