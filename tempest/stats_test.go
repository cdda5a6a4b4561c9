package tempest_test

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/toilhq/toil"
	"github.com/toilhq/toil/internal/testserver"
	"github.com/toilhq/toil/queue"
	"github.com/toilhq/toil/queue/queuetest"
	"github.com/toilhq/toil/tempest"
	"github.com/toilhq/toil/toiltest"
)

// statsFeeder publishes events the test makes up, as a redelivering
// queue or a buggy producer would send them.
type statsFeeder struct {
	toil.Base[struct{}]

	Out queue.Publisher[tempest.Event]
}

// Run keeps the feeder, and so its publisher, up until the test ends.
func (f *statsFeeder) Run(ctx context.Context) error {
	<-ctx.Done()
	return nil
}

func statsStart(t *testing.T, rs *testserver.RedisServer, events string) *toiltest.Service {
	t.Helper()
	cfg := fmt.Sprintf("redis: {url: %q}\nin: {url: %q, topic: %s, max_attempts: 1}", rs.URL(), events, tempest.TopicEvents)
	svc := toiltest.Run(t, &tempest.Stats{}, toiltest.Name("tempest.stats"), toiltest.Config(cfg))
	svc.WaitReady()
	return svc
}

// statsMetric sums the samples of metric whose labels hold every one of
// labels.
func statsMetric(t *testing.T, svc *toiltest.Service, metric string, labels ...string) float64 {
	t.Helper()
	a := webDo(t, http.MethodGet, svc.AdminURL("/metrics"))
	var sum float64
	for line := range strings.SplitSeq(string(a.body), "\n") {
		series, value, ok := strings.Cut(line, " ")
		if !ok || !strings.HasPrefix(series, metric+"{") {
			continue
		}
		match := true
		for _, l := range labels {
			match = match && strings.Contains(series, l)
		}
		var f float64
		if _, err := fmt.Sscan(value, &f); match && err == nil {
			sum += f
		}
	}
	return sum
}

var statsEventID = regexp.MustCompile(`^[0-9a-f]{32}$`)

func TestStatsCountsEachEventOnce(t *testing.T) {
	t.Parallel()
	rs, rdb := webRedis(t)
	events := queuetest.MemURL(t)
	webPush(t, rdb, webCycle(1, 2)) // p1: c1-p1-ad1 of camp1 (bid 1,000,000), c1-p1-ad2 of camp2 (bid 2,000,000)
	web := webStart(t, rs, events)
	stats := statsStart(t, rs, events)
	feeder := &statsFeeder{}
	feed := toiltest.Run(t, feeder, toiltest.Name("tempest.feeder"),
		toiltest.Config(fmt.Sprintf("out: {url: %q, topic: %s}", events, tempest.TopicEvents)))
	web.WaitReady()
	feed.WaitReady()

	ids := map[string]bool{}
	for _, path := range []string{
		"/impression?placement=p1&ad=c1-p1-ad1",
		"/impression?placement=p1&ad=c1-p1-ad1",
		"/impression?placement=p1&ad=c1-p1-ad1",
		"/click?placement=p1&ad=c1-p1-ad1",
		"/impression?placement=p1&ad=c1-p1-ad2",
	} {
		a := webDo(t, http.MethodPost, web.URL(path))
		if a.code != http.StatusAccepted {
			t.Fatalf("POST %s = %d %s, want 202", path, a.code, a.body)
		}
		var e tempest.EventResponse
		webDecode(t, webAnswer{code: http.StatusOK, body: a.body}, &e)
		if !statsEventID.MatchString(e.ID) || ids[e.ID] {
			t.Errorf("POST %s: event id %q, want 128 random bits in hex, new each time", path, e.ID)
		}
		ids[e.ID] = true
	}

	// The same impression of camp2, delivered twice, and an event stats
	// cannot count, which must change nothing.
	dup := tempest.Event{ID: "redelivered-1", Kind: tempest.EventImpression, Placement: "p1", Ad: "c1-p1-ad2",
		Campaign: "camp2", PriceMicros: 2000, At: time.Now()}
	bad := tempest.Event{ID: "bad-1", Kind: "view", Placement: "p1", Ad: "c1-p1-ad1", Campaign: "camp1", PriceMicros: 1000}
	for _, e := range []tempest.Event{dup, dup, bad} {
		if err := feeder.Out.Publish(context.Background(), e); err != nil {
			t.Fatalf("publish %s: %v", e.ID, err)
		}
	}

	webWait(t, "stats to handle all 8 events", func() bool {
		return statsMetric(t, stats, "tempest_stats_events_total", `result="counted"`) == 6 &&
			statsMetric(t, stats, "tempest_stats_events_total", `result="duplicate"`) == 1 &&
			statsMetric(t, stats, "toil_queue_dead_lettered_total") == 1
	})

	ctx := context.Background()
	for id, want := range map[string]tempest.CampaignCounters{
		"camp1": {Impressions: 3, Clicks: 1, SpendMicros: 3 * 1000},
		"camp2": {Impressions: 2, Clicks: 0, SpendMicros: 2 * 2000},
		"camp9": {}, // no events
	} {
		got, err := tempest.CampaignStats(ctx, rdb, id)
		if err != nil {
			t.Fatalf("CampaignStats(%s): %v", id, err)
		}
		if got != want {
			t.Errorf("CampaignStats(%s) = %+v, want %+v", id, got, want)
		}
	}
	spend, err := rdb.HGetAll(ctx, tempest.KeySpend).Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(spend) != 2 || spend["camp1"] != "3000" || spend["camp2"] != "4000" {
		t.Errorf("%s = %v, want camp1:3000 camp2:4000", tempest.KeySpend, spend)
	}
}

func TestWebEventsQueueDown(t *testing.T) {
	t.Parallel()
	rs, rdb := webRedis(t)
	webPush(t, rdb, webCycle(1, 1))
	events := queuetest.MemURL(t)
	web := webStart(t, rs, events)
	web.WaitReady()

	queue.CloseMem(strings.TrimPrefix(events, "mem://"))
	a := webDo(t, http.MethodPost, web.URL("/click?placement=p1&ad=c1-p1-ad1"))
	webErrorBody(t, "POST /click with the queue closed", a, http.StatusServiceUnavailable)
	// Serving ads does not depend on the queue.
	webEqual(t, "GET /ads?placement=p1", webAds(t, web, "placement=p1"), webWant(webCycle(1, 1).Slates[0], 3))
}
