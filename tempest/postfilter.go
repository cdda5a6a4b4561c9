package tempest

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/toilhq/toil"
	"github.com/toilhq/toil/queue"
	"github.com/toilhq/toil/redis"
)

// DefaultSlateSize is how many ads a slate holds at most unless configured.
const DefaultSlateSize = 10

// DefaultBlocklist is the brand-safety blocklist unless configured: an ad
// whose text or URL contains one of these words is never shown.
var DefaultBlocklist = []string{"casino", "crypto", "miracle", "guaranteed"}

// Reasons RankSlates drops an ad, the label of the postfilter's
// tempest_postfilter_dropped_total counter.
const (
	DropBrandSafety   = "brand_safety"   // text or URL holds a blocklisted word
	DropAdvertiserDup = "advertiser_dup" // the advertiser has a better ad in the slate
	DropFreqCap       = "freq_cap"       // the campaign is in FreqCap better slates already
	DropSlateSize     = "slate_size"     // the slate is full of better ads
)

// RankConfig is how RankSlates builds slates.
type RankConfig struct {
	// Blocklist holds words no shown ad's text or URL may contain, matched
	// case-insensitively anywhere (so "casino" also blocks "Casinos").
	Blocklist []string
	// SlateSize is the most ads a slate holds; 0 means DefaultSlateSize.
	SlateSize int
}

// RankSlates builds one cycle's slates from its scored ads, in this order:
//
//  1. drop ads whose Text or URL contains a blocklisted word;
//  2. per placement, sort by Score descending, then Ad ID ascending, and
//     keep only the first ad of each advertiser;
//  3. for each campaign with FreqCap > 0, take its remaining entries across
//     all slates, sorted by Score descending, then placement ID ascending:
//     keep the first FreqCap, drop the rest;
//  4. truncate each slate to SlateSize;
//  5. return one Slate per placement, in placement ID order, even when it
//     is empty (Ads is then empty, not nil).
//
// Ads for a placement not in placements are ignored. The slates' Cycle is
// left 0 for the caller to set: the ads do not carry it.
func RankSlates(placements []Placement, ads []ScoredAd, cfg RankConfig) []Slate {
	slates, _ := rankSlates(placements, ads, cfg)
	return slates
}

// rankDrops counts the ads RankSlates dropped, by reason.
type rankDrops map[string]int

// rankSlates is RankSlates, also counting what each rule dropped.
func rankSlates(placements []Placement, ads []ScoredAd, cfg RankConfig) ([]Slate, rankDrops) {
	drops := rankDrops{}
	byPlacement := make(map[string][]ScoredAd, len(placements))
	for _, p := range placements {
		byPlacement[p.ID] = []ScoredAd{}
	}
	blocklist := rankLower(cfg.Blocklist)
	for _, a := range ads {
		list, ok := byPlacement[a.Placement]
		if !ok {
			continue
		}
		if rankBlocked(a, blocklist) {
			drops[DropBrandSafety]++
			continue
		}
		byPlacement[a.Placement] = append(list, a)
	}
	for id, list := range byPlacement {
		slices.SortFunc(list, rankByScore)
		byPlacement[id] = rankOnePerAdvertiser(list, drops)
	}
	rankFreqCaps(byPlacement, drops)
	size := cmp.Or(cfg.SlateSize, DefaultSlateSize)
	slates := make([]Slate, 0, len(byPlacement))
	for _, id := range rankPlacementIDs(placements) {
		list := byPlacement[id]
		if len(list) > size {
			drops[DropSlateSize] += len(list) - size
			list = list[:size]
		}
		slates = append(slates, Slate{Placement: id, Ads: list})
	}
	return slates, drops
}

// rankByScore orders a placement's ads: best score first, ties by ad ID so
// every worker ranks the same way.
func rankByScore(a, b ScoredAd) int {
	return cmp.Or(cmp.Compare(b.Score, a.Score), strings.Compare(a.Ad, b.Ad))
}

// rankOnePerAdvertiser keeps the first (best) ad of each advertiser of a
// sorted slate.
func rankOnePerAdvertiser(list []ScoredAd, drops rankDrops) []ScoredAd {
	seen := make(map[string]bool, len(list))
	kept := list[:0]
	for _, a := range list {
		if seen[a.Advertiser] {
			drops[DropAdvertiserDup]++
			continue
		}
		seen[a.Advertiser] = true
		kept = append(kept, a)
	}
	return kept
}

// rankFreqCaps keeps each capped campaign in only its FreqCap best slates.
func rankFreqCaps(byPlacement map[string][]ScoredAd, drops rankDrops) {
	type entry struct {
		placement string
		score     float64
	}
	capped := map[string][]entry{}
	for id, list := range byPlacement {
		for _, a := range list {
			if a.FreqCap > 0 {
				capped[a.Campaign] = append(capped[a.Campaign], entry{id, a.Score})
			}
		}
	}
	// over[placement][campaign]: the campaign's entry there is over its cap.
	over := map[string]map[string]bool{}
	for campaign, entries := range capped {
		limit := rankFreqCap(byPlacement, entries[0].placement, campaign)
		if len(entries) <= limit {
			continue
		}
		slices.SortFunc(entries, func(a, b entry) int {
			return cmp.Or(cmp.Compare(b.score, a.score), strings.Compare(a.placement, b.placement))
		})
		for _, e := range entries[limit:] {
			if over[e.placement] == nil {
				over[e.placement] = map[string]bool{}
			}
			over[e.placement][campaign] = true
		}
	}
	for id, campaigns := range over {
		byPlacement[id] = slices.DeleteFunc(byPlacement[id], func(a ScoredAd) bool {
			if campaigns[a.Campaign] {
				drops[DropFreqCap]++
				return true
			}
			return false
		})
	}
}

// rankFreqCap is campaign's FreqCap, read from its entry in placement.
// After rankOnePerAdvertiser a campaign has at most one entry per
// placement (its advertiser's), so the entry is unique.
func rankFreqCap(byPlacement map[string][]ScoredAd, placement, campaign string) int {
	for _, a := range byPlacement[placement] {
		if a.Campaign == campaign {
			return a.FreqCap
		}
	}
	return 0
}

// rankBlocked reports whether a's text or URL holds a word of blocklist
// (lower-cased already).
func rankBlocked(a ScoredAd, blocklist []string) bool {
	text, url := strings.ToLower(a.Text), strings.ToLower(a.URL)
	for _, w := range blocklist {
		if strings.Contains(text, w) || strings.Contains(url, w) {
			return true
		}
	}
	return false
}

// rankLower lower-cases the blocklist once, skipping empty words: "" is in
// every string and would block everything.
func rankLower(words []string) []string {
	lower := make([]string, 0, len(words))
	for _, w := range words {
		if w = strings.ToLower(strings.TrimSpace(w)); w != "" {
			lower = append(lower, w)
		}
	}
	return lower
}

// rankPlacementIDs is the placements' IDs, sorted, each once.
func rankPlacementIDs(placements []Placement) []string {
	ids := make([]string, 0, len(placements))
	for _, p := range placements {
		ids = append(ids, p.ID)
	}
	slices.Sort(ids)
	return slices.Compact(ids)
}

// PostfilterConfig is the postfilter's config, under tempest.postfilter;
// its queue fields are under in: and out:, Redis under redis:.
type PostfilterConfig struct {
	// Blocklist is the brand-safety blocklist (default DefaultBlocklist).
	Blocklist []string `help:"words no shown ad's text or URL may contain (case-insensitive)"`
	// SlateSize is the most ads a slate holds.
	SlateSize int `default:"10" help:"the most ads each placement's slate holds"`
}

// SetDefaults sets the default blocklist; toil calls it before reading the
// config file.
func (c *PostfilterConfig) SetDefaults() {
	c.Blocklist = slices.Clone(DefaultBlocklist)
}

// Validate rejects a slate size that would show no ads.
func (c *PostfilterConfig) Validate() error {
	if c.SlateSize < 1 {
		return fmt.Errorf("slate_size %d: set it to 1 or more, the ads each placement's slate holds", c.SlateSize)
	}
	return nil
}

// postCycleTTL is how long an incomplete cycle's pages are kept: long
// enough for any redelivery, short enough that a cycle that never
// completes (its pages lost with a Redis restart) cleans itself up.
const postCycleTTL = time.Hour

// postRankedTTL is how long a ranked cycle's pages are kept after its
// Slates are published, so a page redelivered soon after publishes the
// same Slates again. Keeping them the full hour cost Redis ~2.5 MB a cycle
// at 2,000 campaigns, a cycle every 5 s (bench/tempest).
const postRankedTTL = time.Minute

// Postfilter is the tempest.postfilter service: it gathers each cycle's
// Scored pages in Redis (KeyCycleScored) and, once every page of the cycle
// is there, ranks the cycle with RankSlates and publishes its Slates.
//
// The pages arrive in any order, some twice, on any worker. Storing a page
// and counting the cycle's pages is one transaction, so the worker that
// stores the last page sees the cycle complete; a page redelivered after
// that publishes the cycle again, which the pusher ignores. Nothing marks
// a cycle published before the publish: a worker dying between the mark
// and the publish would lose the cycle.
type Postfilter struct {
	toil.Base[PostfilterConfig]

	In    queue.Consumer[Scored]  // config under in:
	Out   queue.Publisher[Slates] // config under out:
	Redis redis.Client            // config under redis:
}

// OnMessage stores one Scored page and, when it completes its cycle,
// publishes the cycle's Slates. An error (Redis or the queue down, a page
// outside 1..Pages) is returned, so the queue retries the page and, if it
// keeps failing, dead-letters it.
func (f *Postfilter) OnMessage(ctx context.Context, s Scored) error {
	if s.Page < 1 || s.Page > s.Pages {
		return fmt.Errorf("cycle %d: page %d is outside 1..%d; the message is malformed", s.Cycle, s.Page, s.Pages)
	}
	complete, err := f.store(ctx, s)
	if err != nil || !complete {
		return err
	}
	ads, err := f.gather(ctx, s.Cycle)
	if err != nil {
		return err
	}
	cfg := f.Config()
	slates, drops := rankSlates(s.Placements, ads, RankConfig{Blocklist: cfg.Blocklist, SlateSize: cfg.SlateSize})
	for i := range slates {
		slates[i].Cycle = s.Cycle
	}
	placements := slices.SortedFunc(slices.Values(s.Placements), func(a, b Placement) int {
		return strings.Compare(a.ID, b.ID)
	})
	if err := f.Out.Publish(ctx, Slates{Cycle: s.Cycle, Placements: placements, Slates: slates}); err != nil {
		return err
	}
	f.count(drops)
	if err := f.Redis.Expire(ctx, KeyCycleScored(s.Cycle), postRankedTTL).Err(); err != nil {
		// Published all the same; the hour's expiry cleans up instead.
		f.Log.WarnContext(ctx, "shorten the expiry of a ranked cycle", "cycle", s.Cycle, "err", err)
	}
	return nil
}

// store saves page s of its cycle and reports whether the cycle now has
// all its pages.
func (f *Postfilter) store(ctx context.Context, s Scored) (bool, error) {
	data, err := json.Marshal(s)
	if err != nil {
		return false, fmt.Errorf("encode cycle %d page %d: %w", s.Cycle, s.Page, err)
	}
	key := KeyCycleScored(s.Cycle)
	var pages *goredis.IntCmd
	_, err = f.Redis.TxPipelined(ctx, func(tx goredis.Pipeliner) error {
		tx.HSet(ctx, key, strconv.Itoa(s.Page), data)
		tx.Expire(ctx, key, postCycleTTL)
		pages = tx.HLen(ctx, key)
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("store cycle %d page %d: %w", s.Cycle, s.Page, err)
	}
	return pages.Val() >= int64(s.Pages), nil
}

// gather reads every stored page of cycle and returns their ads.
func (f *Postfilter) gather(ctx context.Context, cycle int64) ([]ScoredAd, error) {
	pages, err := f.Redis.HGetAll(ctx, KeyCycleScored(cycle)).Result()
	if err != nil {
		return nil, fmt.Errorf("read cycle %d: %w", cycle, err)
	}
	if len(pages) == 0 {
		return nil, fmt.Errorf("cycle %d: its pages expired from %s before it was ranked", cycle, KeyCycleScored(cycle))
	}
	var ads []ScoredAd
	for page, data := range pages {
		var s Scored
		if err := json.Unmarshal([]byte(data), &s); err != nil {
			return nil, fmt.Errorf("decode cycle %d page %s from %s: %w", cycle, page, KeyCycleScored(cycle), err)
		}
		ads = append(ads, s.Ads...)
	}
	return ads, nil
}

// count adds a ranking's drops and the published cycle to the metrics.
func (f *Postfilter) count(drops rankDrops) {
	dropped := f.Stats.CounterVec("tempest_postfilter_dropped_total",
		"Scored ads left out of a slate, by reason.", "reason")
	for reason, n := range drops {
		dropped.WithLabelValues(reason).Add(float64(n))
	}
	f.Stats.Counter("tempest_postfilter_cycles_published_total",
		"Cycles ranked and published (a redelivered last page publishes again).").Inc()
}
