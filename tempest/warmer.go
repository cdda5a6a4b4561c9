package tempest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	goredis "github.com/redis/go-redis/v9"
	"github.com/toilhq/toil"
	"github.com/toilhq/toil/queue"
	"github.com/toilhq/toil/redis"
)

// WarmerConfig is the warmer's config, under tempest.warmer. Its fields'
// own settings are under jobs:, plan:, out: and redis:, which is why
// turning planning off is planning: false rather than plan: false.
type WarmerConfig struct {
	Inventory    string        `default:"http://127.0.0.1:8090" help:"the inventory's base URL"`
	Interval     time.Duration `default:"10s" help:"how often a cycle is planned (by one worker of all)"`
	FetchTimeout time.Duration `default:"2s" help:"how long one request to the inventory may take"`
	Retries      int           `default:"4" help:"retries of a failed request before the page goes back to the queue"`
	Backoff      time.Duration `default:"100ms" help:"wait after the first failed request, doubling up to 2s"`
	Planning     bool          `default:"true" help:"take part in planning cycles (false: only fetch the pages others plan)"`
}

// Validate checks the config; toil calls it on every load.
func (c *WarmerConfig) Validate() error {
	u, err := url.Parse(c.Inventory)
	switch {
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		return fmt.Errorf("inventory %q is not an http:// or https:// URL with a host, e.g. http://127.0.0.1:8090", c.Inventory)
	case c.Interval <= 0:
		return fmt.Errorf("interval is %s: it must be positive, e.g. 10s", c.Interval)
	case c.FetchTimeout <= 0:
		return fmt.Errorf("fetch_timeout is %s: it must be positive, e.g. 2s", c.FetchTimeout)
	case c.Retries < 0:
		return fmt.Errorf("retries is %d: it must be 0 or more", c.Retries)
	case c.Backoff < 0:
		return fmt.Errorf("backoff is %s: it must be 0 or more", c.Backoff)
	}
	return nil
}

// warmMaxBackoff caps the wait between two requests for one page.
const warmMaxBackoff = 2 * time.Second

// Warmer fetches the inventory into the pipeline, a cycle at a time.
//
// Planning: every worker tries, each interval, to take the Redis lock
// tempest:cycle:lock (SET NX, expiring after interval); the one that gets it plans
// the next cycle: INCR tempest:cycle, fetch the placements and page 1
// (to learn how many pages there are), and publish a PageJob per page on
// Plan. Fetching: every worker consumes PageJobs on Jobs, fetches the page
// with retries and backoff (the inventory fails on purpose), caches each
// well-formed record's raw bytes at KeyRaw for an hour and publishes the
// page as a Batch on Out. A page that keeps failing returns an error, so
// the queue retries it and, in the end, dead-letters it.
type Warmer struct {
	toil.Base[WarmerConfig]

	Jobs  queue.Consumer[PageJob]  // the pages to fetch (TopicPages)
	Plan  queue.Publisher[PageJob] // where a planned cycle's pages go (TopicPages)
	Out   queue.Publisher[Batch]   // fetched pages, to the prefilter (TopicBatches)
	Redis redis.Client             // the cycle lock and counter, the raw cache

	warmClient *http.Client
}

// Setup makes the HTTP client and the metrics.
func (w *Warmer) Setup(ctx context.Context) error {
	w.warmClient = &http.Client{}
	for _, r := range []string{"planned", "locked", "error"} {
		w.warmPlans().WithLabelValues(r)
	}
	w.warmPagesFetched()
	w.warmFetchErrors()
	w.warmFetchSeconds()
	return nil
}

// Stop closes the connections kept open to the inventory.
func (w *Warmer) Stop(ctx context.Context) error {
	if w.warmClient != nil { // nil when setup failed before making it
		w.warmClient.CloseIdleConnections()
	}
	return nil
}

// Run tries to plan a cycle at once and then every interval, until the
// service stops. A failed attempt is logged and counted: the next
// interval (on this worker or another) tries again.
func (w *Warmer) Run(ctx context.Context) error {
	for {
		cfg := w.Config()
		if cfg.Planning {
			result, err := w.warmPlanCycle(ctx, cfg)
			if err != nil && ctx.Err() == nil {
				w.Log.WarnContext(ctx, "plan a cycle", "err", err)
			}
			w.warmPlans().WithLabelValues(result).Inc()
		}
		t := time.NewTimer(cfg.Interval)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}

// warmNextCycle hands out the next cycle number. A Redis without the
// counter (the first start, or one restarted without its data) counts on
// from the clock in milliseconds, so cycle numbers never go back: a Slates
// message of a cycle from before the restart, redelivered late, can never
// outrank the new cycles at the pusher and freeze their slates.
var warmNextCycle = goredis.NewScript(`redis.call('SET', KEYS[1], ARGV[1], 'NX')
return redis.call('INCR', KEYS[1])`)

// warmPlanCycle plans the next cycle if this worker gets the lock. It
// returns "planned", "locked" (another worker holds it) or "error".
func (w *Warmer) warmPlanCycle(ctx context.Context, cfg *WarmerConfig) (string, error) {
	owner := w.Service() + "." + strconv.Itoa(w.Worker())
	got, err := w.Redis.SetNX(ctx, KeyCycleLock, owner, cfg.Interval).Result()
	if err != nil {
		return "error", fmt.Errorf("take %s: %w", KeyCycleLock, err)
	}
	if !got {
		return "locked", nil
	}
	cycle, err := warmNextCycle.Run(ctx, w.Redis.Client, []string{KeyCycle}, time.Now().UnixMilli()).Int64()
	if err != nil {
		return "error", fmt.Errorf("next cycle from %s: %w", KeyCycle, err)
	}
	var placements struct {
		Placements []Placement `json:"placements"`
	}
	if err := w.warmGet(ctx, cfg, "/placements", &placements); err != nil {
		return "error", fmt.Errorf("plan cycle %d: %w", cycle, err)
	}
	var first invPage
	if err := w.warmGet(ctx, cfg, "/campaigns?page=1", &first); err != nil {
		return "error", fmt.Errorf("plan cycle %d: %w", cycle, err)
	}
	at := time.Now().UTC()
	for page := 1; page <= first.Pages; page++ {
		job := PageJob{Cycle: cycle, Page: page, Pages: first.Pages, Placements: placements.Placements, At: at}
		if err := w.Plan.Publish(ctx, job); err != nil {
			return "error", fmt.Errorf("plan cycle %d: publish page %d of %d: %w", cycle, page, first.Pages, err)
		}
	}
	w.Log.InfoContext(ctx, "planned a cycle", "cycle", cycle, "pages", first.Pages,
		"placements", len(placements.Placements))
	return "planned", nil
}

// OnMessage fetches one page of a cycle, caches its records and passes it
// on as a Batch. An error gives the page back to the queue.
func (w *Warmer) OnMessage(ctx context.Context, job PageJob) error {
	cfg := w.Config()
	var page invPage
	if err := w.warmGet(ctx, cfg, "/campaigns?page="+strconv.Itoa(job.Page), &page); err != nil {
		return fmt.Errorf("cycle %d: %w", job.Cycle, err)
	}
	w.warmPagesFetched().Inc()
	if err := w.warmCache(ctx, page.Records); err != nil {
		return fmt.Errorf("cycle %d page %d: %w", job.Cycle, job.Page, err)
	}
	if err := w.Out.Publish(ctx, Batch{PageJob: job, Records: page.Records}); err != nil {
		return fmt.Errorf("publish batch of cycle %d page %d: %w", job.Cycle, job.Page, err)
	}
	return nil
}

// warmCache stores each well-formed record's raw bytes at KeyRaw, in one
// pipeline. Malformed records are the prefilter's to count, not cached.
func (w *Warmer) warmCache(ctx context.Context, records []json.RawMessage) error {
	pipe := w.Redis.Pipeline()
	for _, raw := range records {
		c, err := ParseCampaign(raw)
		if err != nil {
			continue
		}
		pipe.Set(ctx, KeyRaw(c.ID), []byte(raw), time.Hour)
	}
	if pipe.Len() == 0 {
		return nil
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("cache %d raw records: %w", pipe.Len(), err)
	}
	return nil
}

// warmPermanent is an answer retrying cannot change: a 4xx, or a body
// that is not what the inventory serves.
type warmPermanent struct{ err error }

func (e warmPermanent) Error() string { return e.err.Error() }
func (e warmPermanent) Unwrap() error { return e.err }

// warmGet fetches path from the inventory into v, retrying failures up to
// cfg.Retries times with backoff, doubling from cfg.Backoff.
func (w *Warmer) warmGet(ctx context.Context, cfg *WarmerConfig, path string, v any) error {
	wait := cfg.Backoff
	for attempt := 1; ; attempt++ {
		err := w.warmGetOnce(ctx, cfg, path, v)
		if err == nil {
			return nil
		}
		w.warmFetchErrors().Inc()
		if errors.As(err, new(warmPermanent)) || attempt > cfg.Retries || ctx.Err() != nil {
			return fmt.Errorf("fetch %s%s (%d attempts): %w", cfg.Inventory, path, attempt, err)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("fetch %s%s (%d attempts): %w", cfg.Inventory, path, attempt, err)
		case <-t.C:
		}
		wait = min(wait*2, warmMaxBackoff)
	}
}

// warmGetOnce makes one request, within cfg.FetchTimeout.
func (w *Warmer) warmGetOnce(ctx context.Context, cfg *WarmerConfig, path string, v any) error {
	ctx, cancel := context.WithTimeout(ctx, cfg.FetchTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, cfg.Inventory+path, nil)
	if err != nil {
		return warmPermanent{err}
	}
	start := time.Now()
	resp, err := w.warmClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	w.warmFetchSeconds().Observe(time.Since(start).Seconds())
	if err != nil {
		return fmt.Errorf("read answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		err := fmt.Errorf("inventory answered %s: %.200s", resp.Status, body)
		if resp.StatusCode >= 400 && resp.StatusCode < 500 {
			return warmPermanent{err}
		}
		return err
	}
	if err := json.Unmarshal(body, v); err != nil {
		return warmPermanent{fmt.Errorf("decode answer: %w", err)}
	}
	return nil
}

func (w *Warmer) warmPlans() *prometheus.CounterVec {
	return w.Stats.CounterVec("tempest_warmer_plans_total",
		"Attempts to plan a cycle, by result: planned, locked (another worker plans) or error.", "result")
}

func (w *Warmer) warmPagesFetched() prometheus.Counter {
	return w.Stats.Counter("tempest_warmer_pages_fetched_total", "Inventory pages fetched.")
}

func (w *Warmer) warmFetchErrors() prometheus.Counter {
	return w.Stats.Counter("tempest_warmer_fetch_errors_total", "Requests to the inventory that failed (each retry counts).")
}

func (w *Warmer) warmFetchSeconds() prometheus.Histogram {
	return w.Stats.Histogram("tempest_warmer_fetch_seconds", "Time of one request to the inventory.")
}
