package tempest

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/toilhq/toil"
)

// InventoryConfig is the inventory's config, under tempest.inventory: the
// data it serves (see Seed) and how slow and unreliable it is.
type InventoryConfig struct {
	Campaigns  int   `default:"200" help:"campaigns (records) to seed"`
	Placements int   `default:"24" help:"placements to seed"`
	Seed       int64 `default:"1" help:"random seed of the data: the same seed serves the same bytes"`
	// Epoch is the "now" the seeded schedules are built around; zero
	// means the start time, truncated to the hour.
	Epoch       time.Time     `help:"time the seeded schedules are built around, RFC 3339 (default: the start time truncated to the hour)"`
	PageSize    int           `default:"50" help:"records per page of GET /campaigns"`
	Latency     time.Duration `default:"20ms" help:"how long each request takes, ± half of it"`
	FailureRate float64       `default:"0.05" help:"share of requests answered 503, from 0 to 1"`
}

// Validate checks the config; toil calls it on every load.
func (c *InventoryConfig) Validate() error {
	switch {
	case c.Campaigns < 0:
		return fmt.Errorf("campaigns is %d: it must be 0 or more", c.Campaigns)
	case c.Placements < 1:
		return fmt.Errorf("placements is %d: it must be at least 1, or no ad can be shown", c.Placements)
	case c.PageSize < 1:
		return fmt.Errorf("page_size is %d: it must be at least 1", c.PageSize)
	case c.Latency < 0:
		return fmt.Errorf("latency is %s: it must be 0 or more", c.Latency)
	case c.FailureRate < 0 || c.FailureRate > 1:
		return fmt.Errorf("failure_rate is %g: it must be from 0 (never fail) to 1 (always fail)", c.FailureRate)
	}
	return nil
}

// Inventory is the slow, unreliable place the warmer fetches campaigns
// from: an HTTP API serving seeded data (see Seed), where each request
// takes latency ± half of it and fails with 503 at failure_rate.
//
//	GET /placements       {"placements": [...]}
//	GET /campaigns?page=N {"page": N, "pages": P, "records": [...]}
//
// Pages are 1-based (page defaults to 1); a page that is not a number from
// 1 to P is answered 400. Errors are JSON: {"error": "..."}.
type Inventory struct {
	toil.Base[InventoryConfig]

	HTTP toil.HTTP // config under http:

	invStarted time.Time            // the default epoch's source
	invData    atomic.Pointer[Data] // swapped when a reload changes the seed
	invSeeded  atomic.Pointer[SeedConfig]
}

// Setup seeds the data and registers the routes.
func (inv *Inventory) Setup(ctx context.Context) error {
	inv.invStarted = time.Now()
	inv.invSeed(inv.Config())
	inv.HTTP.HandleFunc("GET /placements", inv.invPlacements)
	inv.HTTP.HandleFunc("GET /campaigns", inv.invCampaigns)
	return nil
}

// ConfigChanged seeds the data again when a reload changes what it is made
// from; latency, failure rate and page size apply from the next request.
func (inv *Inventory) ConfigChanged(ctx context.Context, old, new *InventoryConfig) error {
	inv.invSeed(new)
	return nil
}

// invSeed makes the data cfg describes, unless it is what is served.
func (inv *Inventory) invSeed(cfg *InventoryConfig) {
	sc := SeedConfig{Campaigns: cfg.Campaigns, Placements: cfg.Placements, Seed: cfg.Seed, Epoch: cfg.Epoch}
	if sc.Epoch.IsZero() {
		sc.Epoch = inv.invStarted.Truncate(time.Hour)
	}
	if cur := inv.invSeeded.Load(); cur != nil && *cur == sc {
		return
	}
	inv.invData.Store(Seed(sc))
	inv.invSeeded.Store(&sc)
}

func (inv *Inventory) invPlacements(w http.ResponseWriter, r *http.Request) {
	if !inv.invDelay(w, r, inv.Config()) {
		return
	}
	invJSON(w, http.StatusOK, map[string]any{"placements": inv.invData.Load().Placements})
}

func (inv *Inventory) invCampaigns(w http.ResponseWriter, r *http.Request) {
	// One Config() per request: a reload mid-request cannot mix two configs.
	cfg := inv.Config()
	if !inv.invDelay(w, r, cfg) {
		return
	}
	records := inv.invData.Load().Records()
	pages := max(1, (len(records)+cfg.PageSize-1)/cfg.PageSize)
	page := 1
	if s := r.URL.Query().Get("page"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > pages {
			invJSON(w, http.StatusBadRequest, map[string]string{
				"error": fmt.Sprintf("page %q is not a page of the inventory: ask for a number from 1 to %d", s, pages),
			})
			return
		}
		page = n
	}
	lo := min((page-1)*cfg.PageSize, len(records))
	hi := min(lo+cfg.PageSize, len(records))
	invJSON(w, http.StatusOK, invPage{Page: page, Pages: pages, Records: records[lo:hi]})
}

// invPage is one page of GET /campaigns; the warmer reads it back.
type invPage struct {
	Page    int               `json:"page"`
	Pages   int               `json:"pages"`
	Records []json.RawMessage `json:"records"`
}

// invDelay makes the request as slow and unreliable as configured. It
// reports whether the request may be answered: false when it was failed on
// purpose or the client went away.
func (inv *Inventory) invDelay(w http.ResponseWriter, r *http.Request, cfg *InventoryConfig) bool {
	if cfg.Latency > 0 {
		d := cfg.Latency/2 + rand.N(cfg.Latency+1)
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return false // nobody is waiting for an answer
		}
	}
	if rand.Float64() < cfg.FailureRate {
		invJSON(w, http.StatusServiceUnavailable, map[string]string{
			"error": fmt.Sprintf("the inventory failed on purpose (failure_rate %g): retry", cfg.FailureRate),
		})
		return false
	}
	return true
}

// invJSON writes v as the JSON answer with status code.
func invJSON(w http.ResponseWriter, code int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		code = http.StatusInternalServerError
		body, _ = json.Marshal(map[string]string{"error": "encode answer: " + err.Error()})
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_, _ = w.Write(append(body, '\n'))
}
