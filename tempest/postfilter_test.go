package tempest

import (
	"cmp"
	"context"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	goredis "github.com/redis/go-redis/v9"
	"github.com/toilhq/toil/internal/testserver"
	"github.com/toilhq/toil/queue/queuetest"
	"github.com/toilhq/toil/toiltest"
)

// rankAd is a scored ad for RankSlates tests: ad "<campaign>-<placement>"
// unless named, text and URL clean unless set.
type rankAd struct {
	placement, ad, campaign, advertiser string
	score                               float64
	freqCap                             int
	text, url                           string
}

func (r rankAd) scored() ScoredAd {
	a := ScoredAd{
		Placement: r.placement, Ad: r.ad, Campaign: r.campaign, Advertiser: r.advertiser,
		Score: r.score, FreqCap: r.freqCap, Text: r.text, URL: r.url,
	}
	if a.Ad == "" {
		a.Ad = r.campaign + "-" + r.placement
	}
	if a.Advertiser == "" {
		a.Advertiser = "adv-" + r.campaign
	}
	if a.Text == "" {
		a.Text = "A fine product"
	}
	if a.URL == "" {
		a.URL = "https://shop.example/" + r.campaign
	}
	return a
}

// rankPlacements are placements with these IDs.
func rankPlacements(ids ...string) []Placement {
	var ps []Placement
	for _, id := range ids {
		ps = append(ps, Placement{ID: id, Width: 300, Height: 250})
	}
	return ps
}

func TestRankSlates(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		placements []Placement
		ads        []rankAd
		cfg        RankConfig
		want       map[string][]string // placement → ad IDs, best first
	}{
		{
			name:       "blocklist, case-insensitive, in text or URL",
			placements: rankPlacements("p1"),
			ads: []rankAd{
				{placement: "p1", campaign: "c1", score: 5, text: "Win at the CASINO"},
				{placement: "p1", campaign: "c2", score: 4, url: "https://Crypto-Coins.example/"},
				{placement: "p1", campaign: "c3", score: 3, text: "Fresh bread"},
			},
			cfg:  RankConfig{Blocklist: []string{"casino", "crypto"}},
			want: map[string][]string{"p1": {"c3-p1"}},
		},
		{
			name:       "an empty blocklist word blocks nothing",
			placements: rankPlacements("p1"),
			ads:        []rankAd{{placement: "p1", campaign: "c1", score: 1}},
			cfg:        RankConfig{Blocklist: []string{"", "  "}},
			want:       map[string][]string{"p1": {"c1-p1"}},
		},
		{
			name:       "one ad per advertiser per slate, the best",
			placements: rankPlacements("p1", "p2"),
			ads: []rankAd{
				{placement: "p1", campaign: "c1", advertiser: "acme", score: 2},
				{placement: "p1", campaign: "c2", advertiser: "acme", score: 3},
				{placement: "p1", campaign: "c3", advertiser: "other", score: 1},
				{placement: "p2", campaign: "c1", advertiser: "acme", score: 2},
			},
			want: map[string][]string{"p1": {"c2-p1", "c3-p1"}, "p2": {"c1-p2"}},
		},
		{
			name:       "one ad per advertiser, tied scores: lowest ad ID",
			placements: rankPlacements("p1"),
			ads: []rankAd{
				{placement: "p1", ad: "b", campaign: "c1", advertiser: "acme", score: 2},
				{placement: "p1", ad: "a", campaign: "c2", advertiser: "acme", score: 2},
			},
			want: map[string][]string{"p1": {"a"}},
		},
		{
			name:       "freq cap across slates: the best-scored entries, ties by placement ID",
			placements: rankPlacements("p1", "p2", "p3", "p4"),
			ads: []rankAd{
				{placement: "p1", campaign: "c1", score: 1, freqCap: 2},
				{placement: "p2", campaign: "c1", score: 5, freqCap: 2},
				{placement: "p3", campaign: "c1", score: 3, freqCap: 2},
				{placement: "p4", campaign: "c1", score: 3, freqCap: 2},
				{placement: "p1", campaign: "c2", score: 1}, // uncapped: everywhere
				{placement: "p2", campaign: "c2", score: 1},
				{placement: "p3", campaign: "c2", score: 1},
				{placement: "p4", campaign: "c2", score: 1},
			},
			want: map[string][]string{
				"p1": {"c2-p1"},
				"p2": {"c1-p2", "c2-p2"},
				"p3": {"c1-p3", "c2-p3"},
				"p4": {"c2-p4"},
			},
		},
		{
			name:       "an advertiser duplicate does not use up the campaign's cap",
			placements: rankPlacements("p1", "p2"),
			ads: []rankAd{
				{placement: "p1", ad: "x", campaign: "c1", advertiser: "acme", score: 9, freqCap: 1},
				{placement: "p1", ad: "y", campaign: "c1", advertiser: "acme", score: 8, freqCap: 1},
				{placement: "p2", ad: "z", campaign: "c9", advertiser: "acme", score: 1},
			},
			want: map[string][]string{"p1": {"x"}, "p2": {"z"}},
		},
		{
			name:       "slate size keeps the best, after the freq cap made room",
			placements: rankPlacements("p1", "p2"),
			ads: []rankAd{
				{placement: "p1", campaign: "c1", score: 9, freqCap: 1},
				{placement: "p2", campaign: "c1", score: 8, freqCap: 1}, // capped out of p2
				{placement: "p2", campaign: "c2", score: 7},
				{placement: "p2", campaign: "c3", score: 6},
				{placement: "p2", campaign: "c4", score: 5},
			},
			cfg:  RankConfig{SlateSize: 2},
			want: map[string][]string{"p1": {"c1-p1"}, "p2": {"c2-p2", "c3-p2"}},
		},
		{
			name:       "slate size 0 means the default, 10",
			placements: rankPlacements("p1"),
			ads: func() []rankAd {
				var ads []rankAd
				for i := range 12 {
					ads = append(ads, rankAd{placement: "p1", campaign: fmt.Sprintf("c%02d", i), score: float64(100 - i)})
				}
				return ads
			}(),
			want: map[string][]string{"p1": {"c00-p1", "c01-p1", "c02-p1", "c03-p1", "c04-p1", "c05-p1", "c06-p1", "c07-p1", "c08-p1", "c09-p1"}},
		},
		{
			name:       "every placement gets a slate, empty ones too; unknown placements are ignored",
			placements: rankPlacements("p3", "p1", "p2"),
			ads: []rankAd{
				{placement: "p2", campaign: "c1", score: 1},
				{placement: "gone", campaign: "c2", score: 9},
			},
			want: map[string][]string{"p1": {}, "p2": {"c1-p2"}, "p3": {}},
		},
		{
			name:       "order: score descending, ties by ad ID ascending",
			placements: rankPlacements("p1"),
			ads: []rankAd{
				{placement: "p1", ad: "d", campaign: "c1", score: 1},
				{placement: "p1", ad: "b", campaign: "c2", score: 2},
				{placement: "p1", ad: "c", campaign: "c3", score: 2},
				{placement: "p1", ad: "a", campaign: "c4", score: 2},
				{placement: "p1", ad: "e", campaign: "c5", score: 3},
			},
			want: map[string][]string{"p1": {"e", "a", "b", "c", "d"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ads []ScoredAd
			for _, a := range tt.ads {
				ads = append(ads, a.scored())
			}
			slates := RankSlates(tt.placements, ads, tt.cfg)
			var order []string
			got := map[string][]string{}
			for _, s := range slates {
				order = append(order, s.Placement)
				if s.Ads == nil {
					t.Errorf("slate %s: Ads is nil, want an empty list", s.Placement)
				}
				got[s.Placement] = []string{}
				for _, a := range s.Ads {
					got[s.Placement] = append(got[s.Placement], a.Ad)
				}
			}
			if !slices.IsSorted(order) || len(order) != len(tt.placements) {
				t.Errorf("slates for %v, want one per placement in ID order", order)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("RankSlates:\n got  %v\n want %v", got, tt.want)
			}
		})
	}
}

func TestPostfilterConfigRejectsSlateSizeZero(t *testing.T) {
	t.Parallel()
	c := PostfilterConfig{SlateSize: 0}
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "slate_size") {
		t.Errorf("Validate(slate_size 0) = %v, want an error naming slate_size", err)
	}
	c.SetDefaults()
	if !slices.Equal(c.Blocklist, DefaultBlocklist) {
		t.Errorf("default blocklist %v, want %v", c.Blocklist, DefaultBlocklist)
	}
}

// rankPages splits a cycle's scored ads into pages of the cycle.
func rankPages(cycle int64, placements []Placement, ads []ScoredAd, pages int) []Scored {
	var out []Scored
	for i := range pages {
		s := Scored{PageJob: PageJob{Cycle: cycle, Page: i + 1, Pages: pages, Placements: placements}, Ads: []ScoredAd{}}
		for j := i; j < len(ads); j += pages {
			s.Ads = append(s.Ads, ads[j])
		}
		out = append(out, s)
	}
	return out
}

func TestPostfilterPublishesEachCompleteCycleOnce(t *testing.T) {
	t.Parallel()
	rdb := testserver.Redis(t)
	url := queuetest.MemURL(t)
	slatesOut := rankSubscribe[Slates](t, url, TopicSlates, "test.slates")
	f := &Postfilter{}
	// The bus may deliver messages in any order, so the test sends a page
	// only once the last one is handled: the order is the test's.
	handled := make(chan error, 100)
	f.In.Handler = func(ctx context.Context, s Scored) error {
		err := f.OnMessage(ctx, s)
		handled <- err
		return err
	}
	cfg := rankQueue("in", url, TopicScored) + rankQueue("out", url, TopicSlates) +
		fmt.Sprintf("redis: {url: %q}\nslate_size: 3\n", rdb.URL())
	toiltest.Run(t, f, toiltest.Name("tempest.postfilter"), toiltest.Config(cfg)).WaitReady()
	in := rankPublisher[Scored](t, url, TopicScored, "test.scored")

	// Score a fixture cycle, as the scorer would, and split it into pages.
	c := scoreCandidatesPage(60, 8)
	ads := scoreCandidates(c.Campaigns, c.Placements, slices.Repeat([]string{ModelV1}, len(c.Placements)))
	pages := rankPages(1, c.Placements, ads, 4)
	want := RankSlates(c.Placements, ads, RankConfig{Blocklist: DefaultBlocklist, SlateSize: 3})
	shown := 0
	for i := range want {
		want[i].Cycle = 1
		shown += len(want[i].Ads)
	}
	if shown == 0 || shown == len(ads) {
		t.Fatalf("the fixture's slates show %d of %d scored ads: the test needs some shown and some dropped", shown, len(ads))
	}
	ctx := context.Background()
	// published counts the Slates the postfilter has published: once a
	// page is handled, its publish, if any, is done.
	published := func() int {
		var m dto.Metric
		if err := f.Stats.Counter("tempest_postfilter_cycles_published_total",
			"Cycles ranked and published (a redelivered last page publishes again).").Write(&m); err != nil {
			t.Fatal(err)
		}
		return int(m.GetCounter().GetValue())
	}
	send := func(s Scored) {
		t.Helper()
		if err := in.Out.Publish(ctx, s); err != nil {
			t.Fatal(err)
		}
		if err := rankRecv(t, handled); err != nil {
			t.Fatalf("page %d: %v", s.Page, err)
		}
	}
	// Out of order, pages 3 and 1 twice before the cycle is complete.
	for n, i := range []int{2, 0, 2, 0, 1} {
		send(pages[i])
		if published() != 0 {
			t.Fatalf("the postfilter published after %d messages, before it had every page", n+1)
		}
	}
	send(pages[3])
	if n := published(); n != 1 {
		t.Fatalf("the page completing cycle 1 published %d Slates, want 1", n)
	}
	first := rankRecv(t, slatesOut)
	if first.Cycle != 1 || !reflect.DeepEqual(first.Slates, want) {
		t.Fatalf("cycle 1 published as cycle %d with slates\n%+v\nwant\n%+v", first.Cycle, first.Slates, want)
	}
	if len(first.Placements) != len(c.Placements) {
		t.Errorf("Slates carries %d placements, want %d", len(first.Placements), len(c.Placements))
	}
	// A ranked cycle's pages are kept only a minute, not the hour an
	// incomplete one gets.
	cli := goredis.NewClient(&goredis.Options{Addr: rdb.Addr()})
	defer cli.Close()
	if ttl, err := cli.TTL(t.Context(), KeyCycleScored(1)).Result(); err != nil || ttl <= 0 || ttl > time.Minute {
		t.Errorf("TTL of the ranked cycle's %s = %v (%v), want at most a minute", KeyCycleScored(1), ttl, err)
	}
	// A page redelivered after the cycle completed publishes it again, the
	// same slates: the pusher, idempotent, then changes nothing.
	send(pages[1])
	if n := published(); n != 2 {
		t.Fatalf("the redelivered page made %d publishes in all, want 2", n)
	}
	again := rankRecv(t, slatesOut)
	if !reflect.DeepEqual(again, first) {
		t.Errorf("the redelivered page published\n%+v\nwant the same Slates as before\n%+v", again, first)
	}
}

// rankNaive is RankSlates written again, as plainly as possible, to check
// it on random cycles: each rule a pass over the whole cycle.
func rankNaive(placements []Placement, ads []ScoredAd, cfg RankConfig) map[string][]string {
	var ids []string
	for _, p := range placements {
		if !slices.Contains(ids, p.ID) {
			ids = append(ids, p.ID)
		}
	}
	slices.Sort(ids)
	var clean []ScoredAd
	for _, a := range ads {
		blocked := false
		for _, w := range cfg.Blocklist {
			w = strings.ToLower(strings.TrimSpace(w))
			if w != "" && (strings.Contains(strings.ToLower(a.Text), w) || strings.Contains(strings.ToLower(a.URL), w)) {
				blocked = true
			}
		}
		if !blocked {
			clean = append(clean, a)
		}
	}
	slates := map[string][]ScoredAd{}
	for _, id := range ids {
		var list []ScoredAd
		for _, a := range clean {
			if a.Placement == id {
				list = append(list, a)
			}
		}
		// insertion sort, so the order does not come from the same sort call
		for i := 1; i < len(list); i++ {
			for j := i; j > 0; j-- {
				a, b := list[j-1], list[j]
				if b.Score > a.Score || (b.Score == a.Score && b.Ad < a.Ad) {
					list[j-1], list[j] = b, a
				}
			}
		}
		var kept []ScoredAd
		for _, a := range list {
			if !slices.ContainsFunc(kept, func(k ScoredAd) bool { return k.Advertiser == a.Advertiser }) {
				kept = append(kept, a)
			}
		}
		slates[id] = kept
	}
	capped := map[string]int{}
	for _, id := range ids {
		for _, a := range slates[id] {
			if a.FreqCap > 0 {
				capped[a.Campaign] = a.FreqCap
			}
		}
	}
	for campaign, limit := range capped {
		var entries []ScoredAd
		for _, id := range ids {
			for _, a := range slates[id] {
				if a.Campaign == campaign {
					entries = append(entries, a)
				}
			}
		}
		slices.SortStableFunc(entries, func(a, b ScoredAd) int {
			if a.Score != b.Score {
				if a.Score > b.Score {
					return -1
				}
				return 1
			}
			return strings.Compare(a.Placement, b.Placement)
		})
		for _, drop := range entries[min(limit, len(entries)):] {
			slates[drop.Placement] = slices.DeleteFunc(slates[drop.Placement], func(a ScoredAd) bool { return a.Campaign == campaign })
		}
	}
	size := cfg.SlateSize
	if size == 0 {
		size = DefaultSlateSize
	}
	got := map[string][]string{}
	for _, id := range ids {
		got[id] = []string{}
		for i, a := range slates[id] {
			if i < size {
				got[id] = append(got[id], a.Ad)
			}
		}
	}
	return got
}

func TestRankSlatesAgreesWithAPlainRecomputation(t *testing.T) {
	t.Parallel()
	for seed := range uint64(50) {
		r := rand.New(rand.NewPCG(seed, 7))
		var placements []Placement
		for i := range 1 + r.IntN(8) {
			placements = append(placements, Placement{ID: fmt.Sprintf("p%d", i)})
		}
		var ads []ScoredAd
		for range r.IntN(200) {
			c := r.IntN(20)
			texts := []string{"Fresh bread", "Big CASINO night", "Shoes"}
			ads = append(ads, ScoredAd{
				Placement:  fmt.Sprintf("p%d", r.IntN(9)), // p8 is never a placement
				Ad:         fmt.Sprintf("a%03d", r.IntN(300)),
				Campaign:   fmt.Sprintf("c%d", c),
				Advertiser: fmt.Sprintf("adv%d", c%7),
				FreqCap:    c % 4,
				Score:      float64(r.IntN(6)), // few values: many ties
				Text:       texts[r.IntN(len(texts))],
				URL:        "https://x.example/",
			})
		}
		// One (placement, ad) pair appears once, as the scorer makes it.
		ads = slices.CompactFunc(slices.SortedFunc(slices.Values(ads), func(a, b ScoredAd) int {
			return cmp.Or(strings.Compare(a.Placement, b.Placement), strings.Compare(a.Ad, b.Ad))
		}), func(a, b ScoredAd) bool { return a.Placement == b.Placement && a.Ad == b.Ad })
		r.Shuffle(len(ads), func(i, j int) { ads[i], ads[j] = ads[j], ads[i] })
		cfg := RankConfig{Blocklist: DefaultBlocklist, SlateSize: r.IntN(5)}

		got := map[string][]string{}
		for _, s := range RankSlates(placements, ads, cfg) {
			got[s.Placement] = []string{}
			for _, a := range s.Ads {
				got[s.Placement] = append(got[s.Placement], a.Ad)
			}
		}
		if want := rankNaive(placements, ads, cfg); !reflect.DeepEqual(got, want) {
			t.Fatalf("seed %d: RankSlates\n got  %v\n want %v", seed, got, want)
		}
	}
}
