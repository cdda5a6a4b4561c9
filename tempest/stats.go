package tempest

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	goredis "github.com/redis/go-redis/v9"

	"github.com/toilhq/toil"
	"github.com/toilhq/toil/queue"
	"github.com/toilhq/toil/redis"
)

// StatsConfig is the stats service's config, under tempest.stats:. Its
// mixins' settings are under in: and redis:.
type StatsConfig struct {
	SeenTTL time.Duration `koanf:"seen_ttl" default:"24h" help:"how long an event ID is remembered as counted; a redelivery later than this counts again"`
}

// Validate checks the config; toil calls it on every load.
func (c *StatsConfig) Validate() error {
	if c.SeenTTL < time.Second {
		return fmt.Errorf("seen_ttl is %s: want at least 1s, e.g. 24h (longer than the queue may take to redeliver)", c.SeenTTL)
	}
	return nil
}

// Stats keeps each campaign's counters and spend (service tempest.stats):
// for every Event web published it adds the impression or click and its
// price to tempest:stats:<campaign> and the price to tempest:spend, which
// the prefilter's budget check reads. Delivery is at least once, so each
// event ID is counted once: a redelivered event changes nothing.
type Stats struct {
	toil.Base[StatsConfig]

	In    queue.Consumer[Event] // config under in:, topic tempest.events
	Redis redis.Client          // config under redis:

	events *prometheus.CounterVec // by kind and result
}

// statsScript counts an event once, atomically: the seen mark and the
// counters are written together or not at all, so a crash between them
// cannot count an event without marking it, nor mark it uncounted.
//
// KEYS: the event's seen mark, the campaign's stats hash, tempest:spend.
// ARGV: the seen mark's TTL in seconds, the counter (impressions or
// clicks), the price in micro-dollars, the campaign ID.
var statsScript = goredis.NewScript(`
if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then
	return 0
end
redis.call('HINCRBY', KEYS[2], ARGV[2], 1)
redis.call('HINCRBY', KEYS[2], 'spend_micros', ARGV[3])
redis.call('HINCRBY', KEYS[3], ARGV[4], ARGV[3])
return 1
`)

// Setup registers the metrics.
func (s *Stats) Setup(ctx context.Context) error {
	s.events = s.Stats.CounterVec("tempest_stats_events_total",
		"Events stats handled, by kind and result (counted, duplicate: a redelivery already counted).", "kind", "result")
	return nil
}

// OnMessage counts e once. An event that cannot be counted (no ID, no
// campaign, an unknown kind, a negative price) is an error: the queue
// retries it and then dead-letters it with the reason, so it is kept for
// a person to look at rather than lost.
func (s *Stats) OnMessage(ctx context.Context, e Event) error {
	counter, err := statsCounter(e)
	if err != nil {
		return err
	}
	keys := []string{KeyEventSeen(e.ID), KeyCampaignStats(e.Campaign), KeySpend}
	ttl := int64(s.Config().SeenTTL / time.Second)
	counted, err := statsScript.Run(ctx, s.Redis.Client, keys, ttl, counter, e.PriceMicros, e.Campaign).Int()
	if err != nil {
		return fmt.Errorf("count event %s of campaign %s: %w", e.ID, e.Campaign, err)
	}
	result := "counted"
	if counted == 0 {
		result = "duplicate"
	}
	s.events.WithLabelValues(e.Kind, result).Inc()
	return nil
}

// statsCounter is the hash field e increments, or why e cannot be counted.
func statsCounter(e Event) (string, error) {
	switch {
	case e.ID == "":
		return "", errors.New("event has no id: it could not be counted exactly once")
	case e.Campaign == "":
		return "", fmt.Errorf("event %s has no campaign", e.ID)
	case e.PriceMicros < 0:
		return "", fmt.Errorf("event %s has a negative price (%d micro-dollars)", e.ID, e.PriceMicros)
	}
	switch e.Kind {
	case EventImpression:
		return "impressions", nil
	case EventClick:
		return "clicks", nil
	}
	return "", fmt.Errorf("event %s has kind %q: want %q or %q", e.ID, e.Kind, EventImpression, EventClick)
}

// CampaignCounters are a campaign's counters as stats keeps them.
type CampaignCounters struct {
	Impressions int64 `json:"impressions"`
	Clicks      int64 `json:"clicks"`
	SpendMicros int64 `json:"spend_micros"` // the sum of its events' prices
}

// CampaignStats reads campaign id's counters; a campaign with no events
// yet has all zero.
func CampaignStats(ctx context.Context, rdb goredis.Cmdable, id string) (CampaignCounters, error) {
	vals, err := rdb.HMGet(ctx, KeyCampaignStats(id), "impressions", "clicks", "spend_micros").Result()
	if err != nil {
		return CampaignCounters{}, fmt.Errorf("HMGET %s: %w", KeyCampaignStats(id), err)
	}
	var c CampaignCounters
	for i, dst := range []*int64{&c.Impressions, &c.Clicks, &c.SpendMicros} {
		raw, ok := vals[i].(string)
		if !ok {
			continue // not counted yet
		}
		if *dst, err = strconv.ParseInt(raw, 10, 64); err != nil {
			return CampaignCounters{}, fmt.Errorf("read %s: %w", KeyCampaignStats(id), err)
		}
	}
	return c, nil
}
