// Package tempest is toil's reference ad server: the talk's ad pipeline,
// complete, built only from toil and its chosen dependencies.
//
//	inventory (slow HTTP source)
//	  → warmer     (procs 16: plans a cycle, fetches pages, caches raw records)
//	  → prefilter  (drops invalid, expired, over-budget, bad-creative records)
//	  → scorer     (procs 2: pCTR × bid per eligible placement)
//	  → postfilter (whole cycle: brand safety, one ad per advertiser, frequency caps)
//	  → pusher     (procs 2: each placement's slate to Redis, atomic, idempotent)
//	  → Redis → web (procs 4: GET /placements, GET /ads, impressions, clicks)
//	web's events → stats (per-campaign counters and spend) → prefilter's budget check
//
// Each stage is a service in its own processes, talking over queues (the
// embedded NATS under toil dev); tempest.all runs the same stage code in
// one process. This file holds what the stages share: the data, the
// messages on the topics and the Redis keys.
package tempest

import (
	"encoding/json"
	"strconv"
	"time"
)

// Advertiser owns campaigns; a slate holds at most one ad per advertiser.
type Advertiser struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// Campaign is what the inventory serves, one record per campaign with its
// ads. Money is in micro-dollars, so sums are exact.
type Campaign struct {
	ID           string    `json:"id"`
	Advertiser   string    `json:"advertiser"`    // Advertiser.ID
	BudgetMicros int64     `json:"budget_micros"` // total spend allowed
	BidMicros    int64     `json:"bid_micros"`    // CPM: paid per 1000 impressions
	Start        time.Time `json:"start"`         // runs in [Start, End)
	End          time.Time `json:"end"`
	Targeting    Targeting `json:"targeting"`
	FreqCap      int       `json:"freq_cap"` // the most slates the campaign is in at once; 0: no cap
	Ads          []Ad      `json:"ads"`
}

// Targeting restricts where a campaign runs; an empty list allows any value.
type Targeting struct {
	Categories []string `json:"categories,omitempty"` // Placement.Category
	Geos       []string `json:"geos,omitempty"`       // Placement.Geo
	Devices    []string `json:"devices,omitempty"`    // Placement.Device
}

// Ad is one creative of a campaign.
type Ad struct {
	ID     string `json:"id"`
	Width  int    `json:"width"`
	Height int    `json:"height"`
	URL    string `json:"url"`  // the click-through URL: https with a host
	Text   string `json:"text"` // 1..MaxAdText bytes
}

// MaxAdText is the longest ad text a valid creative has.
const MaxAdText = 90

// Placement is a slot on a site that shows a slate of ads of its size.
type Placement struct {
	ID       string `json:"id"`
	Site     string `json:"site"`
	Slot     string `json:"slot"`
	Category string `json:"category"`
	Geo      string `json:"geo"`
	Device   string `json:"device"`
	Width    int    `json:"width"`
	Height   int    `json:"height"`
}

// Messages, in pipeline order. Every message of a stage carries its cycle
// (one pass of the warmer over the whole inventory) and its page of that
// cycle, so the postfilter knows when a cycle is complete: every stage
// sends one message per page it receives, even an empty one.

// PageJob asks a warmer worker to fetch one page of the inventory
// (TopicPages, from the warmer that planned the cycle).
type PageJob struct {
	Cycle      int64       `json:"cycle"`
	Page       int         `json:"page"`  // 1-based
	Pages      int         `json:"pages"` // pages in the cycle
	Placements []Placement `json:"placements"`
	At         time.Time   `json:"at"` // when the cycle was planned: the clock expiry is judged by
}

// Batch is one fetched page, its records raw as the inventory sent them
// (TopicBatches, warmer → prefilter): parsing them is the prefilter's job.
type Batch struct {
	PageJob
	Records []json.RawMessage `json:"records"`
}

// Candidates are a page's campaigns that passed the prefilter
// (TopicCandidates, prefilter → scorer).
type Candidates struct {
	PageJob
	Campaigns []Campaign `json:"campaigns"`
}

// ScoredAd is an ad scored for one placement.
type ScoredAd struct {
	Placement  string  `json:"placement"`
	Ad         string  `json:"ad"`
	Campaign   string  `json:"campaign"`
	Advertiser string  `json:"advertiser"`
	BidMicros  int64   `json:"bid_micros"`
	FreqCap    int     `json:"freq_cap"`
	URL        string  `json:"url"`
	Text       string  `json:"text"`
	Width      int     `json:"width"`
	Height     int     `json:"height"`
	CTR        float64 `json:"ctr"`   // predicted click-through rate
	Score      float64 `json:"score"` // CTR × BidMicros
	Model      string  `json:"model"` // the model version that scored it
}

// Scored is a page's ads scored for every placement they may show on
// (TopicScored, scorer → postfilter).
type Scored struct {
	PageJob
	Ads []ScoredAd `json:"ads"`
}

// Slate is the ranked ads of one placement for one cycle, best first.
type Slate struct {
	Placement string     `json:"placement"`
	Cycle     int64      `json:"cycle"`
	Ads       []ScoredAd `json:"ads"`
}

// Slates is a whole cycle's slates, one per placement, even when empty
// (TopicSlates, postfilter → pusher).
type Slates struct {
	Cycle      int64       `json:"cycle"`
	Placements []Placement `json:"placements"`
	Slates     []Slate     `json:"slates"`
}

// Event is an impression or click web saw (TopicEvents, web → stats).
type Event struct {
	ID          string    `json:"id"`   // unique: stats counts each ID once
	Kind        string    `json:"kind"` // EventImpression or EventClick
	Placement   string    `json:"placement"`
	Ad          string    `json:"ad"`
	Campaign    string    `json:"campaign"`
	PriceMicros int64     `json:"price_micros"` // what the event costs the campaign
	At          time.Time `json:"at"`
}

// Event kinds.
const (
	EventImpression = "impression"
	EventClick      = "click"
)

// Topics, the default of each stage's queue fields.
const (
	TopicPages      = "tempest.pages"
	TopicBatches    = "tempest.batches"
	TopicCandidates = "tempest.candidates"
	TopicScored     = "tempest.scored"
	TopicSlates     = "tempest.slates"
	TopicEvents     = "tempest.events"
)

// Redis keys. Every key tempest writes starts with "tempest:".
const (
	KeyCycle      = "tempest:cycle"      // INCR: the last cycle number handed out
	KeyCycleLock  = "tempest:cycle:lock" // SET NX PX: the warmer that plans the next cycle
	KeyPlacements = "tempest:placements" // JSON []Placement of the last pushed cycle
	KeySpend      = "tempest:spend"      // hash campaign ID → micro-dollars spent
	KeyPushed     = "tempest:pushed"     // the last cycle whose slates are all written
)

// KeyRaw is where the warmer caches a campaign's raw record.
func KeyRaw(campaign string) string { return "tempest:raw:" + campaign }

// KeyCycleScored is the hash page → Scored JSON the postfilter gathers a
// cycle in.
func KeyCycleScored(cycle int64) string {
	return "tempest:cycle:" + strconv.FormatInt(cycle, 10) + ":scored"
}

// KeySlate holds a placement's Slate as JSON.
func KeySlate(placement string) string { return "tempest:slate:" + placement }

// KeyCampaignStats is the hash of a campaign's counters (impressions,
// clicks, spend_micros).
func KeyCampaignStats(campaign string) string { return "tempest:stats:" + campaign }

// KeyEventSeen marks an event ID counted, so a redelivered event is not.
func KeyEventSeen(id string) string { return "tempest:event:" + id }
