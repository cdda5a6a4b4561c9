package tempest

import (
	"bytes"
	"context"
	"reflect"
	"strconv"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/toilhq/toil/internal/testserver"
	"github.com/toilhq/toil/queue/queuetest"
	"github.com/toilhq/toil/toiltest"
)

// warmConfig is a warmer's config for tests: an interval long enough that
// each worker tries to plan once, and quick retries.
func warmConfig(inventory, bus, redisURL string, planning bool, retries int) string {
	return "inventory: " + inventory + "\n" +
		"interval: 1h\nfetch_timeout: 5s\nretries: " + strconv.Itoa(retries) + "\nbackoff: 1ms\n" +
		"planning: " + strconv.FormatBool(planning) + "\n" +
		"jobs: {url: " + bus + ", topic: " + TopicPages + ", max_attempts: 3, backoff: {initial: 1ms, max: 1ms}}\n" +
		"plan: " + preEndpoint(bus, TopicPages) + "\n" +
		"out: " + preEndpoint(bus, TopicBatches) + "\n" +
		"redis: {url: " + redisURL + "}"
}

// warmCollect receives Batches until every page of the first cycle seen has
// arrived, failing on a page that arrives twice.
func warmCollect(t *testing.T, ch <-chan Batch) []Batch {
	t.Helper()
	first := preReceive(t, ch, "Batch")
	pages := make([]Batch, first.Pages)
	pages[first.Page-1] = first
	for n := 1; n < first.Pages; n++ {
		b := preReceive(t, ch, "Batch")
		if b.Cycle != first.Cycle {
			t.Fatalf("a Batch of cycle %d arrived before cycle %d was complete", b.Cycle, first.Cycle)
		}
		if pages[b.Page-1].Page != 0 {
			t.Fatalf("page %d of cycle %d arrived twice", b.Page, b.Cycle)
		}
		pages[b.Page-1] = b
	}
	return pages
}

// warmWait polls cond until it holds, failing after 30s.
func warmWait(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited 30s for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestWarmerFetchesEveryPageOnceFromAFlakyInventory(t *testing.T) {
	t.Parallel()
	rs := testserver.Redis(t)
	bus := queuetest.MemURL(t)
	inv := toiltest.Run(t, &Inventory{}, toiltest.Config(invConfig(230, 20, "0.5")))
	inv.WaitReady()
	d := Seed(SeedConfig{Campaigns: 230, Placements: 6, Seed: 11, Epoch: seedEpoch})
	batches := preStartSink[Batch](t, "test.prefilter", bus, TopicBatches)

	// 20 retries: planning fails (and the test with it) only if one
	// request fails 21 times in a row, about once in two million.
	w := &Warmer{}
	start := time.Now().UnixMilli()
	toiltest.Run(t, w, toiltest.Config(warmConfig(inv.URL(""), bus, rs.URL(), true, 20))).WaitReady()
	pages := warmCollect(t, batches)

	if len(pages) != 12 {
		t.Fatalf("cycle of %d pages, want 12 (230 records, 20 a page)", len(pages))
	}
	var records [][]byte
	for _, b := range pages {
		if b.Cycle != pages[0].Cycle || b.Cycle < start || !reflect.DeepEqual(b.Placements, d.Placements) || b.At.IsZero() {
			t.Errorf("page %d: cycle %d, %d placements, at %s; want cycle %d (counted from the clock, at least %d), the 6 seeded placements, a plan time",
				b.Page, b.Cycle, len(b.Placements), b.At, pages[0].Cycle, start)
		}
		for _, r := range b.Records {
			records = append(records, r)
		}
	}
	want := d.Records()
	if len(records) != len(want) {
		t.Fatalf("the batches hold %d records, want %d", len(records), len(want))
	}
	for i := range want {
		if !bytes.Equal(records[i], want[i]) {
			t.Fatalf("record %d of the batches is %s, want %s", i, records[i], want[i])
		}
	}

	rdb := goredis.NewClient(&goredis.Options{Addr: rs.Addr()})
	defer rdb.Close()
	ctx := context.Background()
	for i, c := range d.Campaigns {
		got, err := rdb.Get(ctx, KeyRaw(c.ID)).Bytes()
		switch {
		case d.Flaws[c.ID] == FlawMalformed:
			if err != goredis.Nil {
				t.Errorf("malformed record of %s cached at %s: %s (%v)", c.ID, KeyRaw(c.ID), got, err)
			}
		case err != nil || !bytes.Equal(got, want[i]):
			t.Errorf("%s = %s (%v), want the raw record %s", KeyRaw(c.ID), got, err, want[i])
		}
	}
	if ttl := rdb.TTL(ctx, KeyRaw(d.Campaigns[0].ID)).Val(); ttl <= 0 || ttl > time.Hour {
		t.Errorf("raw record TTL %s, want at most an hour", ttl)
	}

	// Every page was fetched once, whatever the inventory's failures cost.
	if n := preMetric(t, w.Stats, "tempest_warmer_pages_fetched_total"); n != 12 {
		t.Errorf("tempest_warmer_pages_fetched_total = %v, want 12", n)
	}
	if n := preMetric(t, w.Stats, "tempest_warmer_fetch_errors_total"); n <= 0 {
		t.Errorf("tempest_warmer_fetch_errors_total = %v with an inventory failing half its requests, want some", n)
	}
}

func TestWarmerWorkersPlanEachCycleOnce(t *testing.T) {
	t.Parallel()
	rs := testserver.Redis(t)
	bus := queuetest.MemURL(t)
	inv := toiltest.Run(t, &Inventory{}, toiltest.Config(invConfig(95, 10, "0")))
	inv.WaitReady()
	batches := preStartSink[Batch](t, "test.prefilter", bus, TopicBatches)

	cfg := toiltest.Config(warmConfig(inv.URL(""), bus, rs.URL(), true, 10))
	w1, w2 := &Warmer{}, &Warmer{}
	s1 := toiltest.Run(t, w1, cfg, toiltest.Env("TOIL_WORKER=1"))
	s2 := toiltest.Run(t, w2, cfg, toiltest.Env("TOIL_WORKER=2"))
	s1.WaitReady()
	s2.WaitReady()

	// Both workers tried to plan at start, at the same time.
	tried := func(w *Warmer) float64 {
		return preMetric(t, w.Stats, "tempest_warmer_plans_total", "result", "planned") +
			preMetric(t, w.Stats, "tempest_warmer_plans_total", "result", "locked")
	}
	warmWait(t, "both workers to try to plan", func() bool {
		return tried(w1) >= 1 && tried(w2) >= 1
	})
	planned := preMetric(t, w1.Stats, "tempest_warmer_plans_total", "result", "planned") +
		preMetric(t, w2.Stats, "tempest_warmer_plans_total", "result", "planned")
	if planned != 1 {
		t.Fatalf("%v workers planned the first cycle, want 1", planned)
	}
	pages := warmCollect(t, batches)
	rdb := goredis.NewClient(&goredis.Options{Addr: rs.Addr()})
	defer rdb.Close()
	n, err := rdb.Get(context.Background(), KeyCycle).Int64()
	if err != nil || len(pages) != 10 || pages[0].Cycle != n {
		t.Errorf("the cycle has %d pages, number %d; want 10 pages of the cycle in %s, %d (%v)", len(pages), pages[0].Cycle, KeyCycle, n, err)
	}
	// Both workers share the pages, each fetched once.
	fetched := preMetric(t, w1.Stats, "tempest_warmer_pages_fetched_total") +
		preMetric(t, w2.Stats, "tempest_warmer_pages_fetched_total")
	if fetched != 10 {
		t.Errorf("the workers fetched %v pages, want 10", fetched)
	}
}

func TestWarmerGivesUpOnAPageThatKeepsFailing(t *testing.T) {
	t.Parallel()
	rs := testserver.Redis(t)
	bus := queuetest.MemURL(t)
	inv := toiltest.Run(t, &Inventory{}, toiltest.Config(invConfig(10, 5, "1")))
	inv.WaitReady()
	dead := preStartSink[PageJob](t, "test.dlq", bus, TopicPages+".dlq")
	batches := preStartSink[Batch](t, "test.prefilter", bus, TopicBatches)
	w := &Warmer{}
	toiltest.Run(t, w, toiltest.Config(warmConfig(inv.URL(""), bus, rs.URL(), false, 2))).WaitReady()
	jobs := preStartPub[PageJob](t, "test.planner", bus, TopicPages)

	job := PageJob{Cycle: 7, Page: 2, Pages: 2, At: seedEpoch}
	if err := jobs.Out.Publish(context.Background(), job); err != nil {
		t.Fatal(err)
	}
	got := preReceive(t, dead, "dead-lettered PageJob")
	if got.Cycle != 7 || got.Page != 2 {
		t.Errorf("dead-lettered %+v, want page 2 of cycle 7", got)
	}
	// 3 queue attempts of 3 requests each.
	if n := preMetric(t, w.Stats, "tempest_warmer_fetch_errors_total"); n != 9 {
		t.Errorf("tempest_warmer_fetch_errors_total = %v, want 9", n)
	}
	select {
	case b := <-batches:
		t.Errorf("a Batch of page %d was published for a page never fetched", b.Page)
	default:
	}
	if n := preMetric(t, w.Stats, "tempest_warmer_plans_total", "result", "planned"); n != 0 {
		t.Errorf("a worker with planning: false planned %v cycles", n)
	}
}

func TestWarmerConfigErrors(t *testing.T) {
	t.Parallel()
	ok := WarmerConfig{Inventory: "http://127.0.0.1:8090", Interval: time.Second, FetchTimeout: time.Second}
	if err := ok.Validate(); err != nil {
		t.Fatalf("Validate(%+v) = %v", ok, err)
	}
	for _, tt := range []struct {
		change func(c *WarmerConfig)
		want   string
	}{
		{func(c *WarmerConfig) { c.Inventory = "127.0.0.1:8090" }, "inventory"},
		{func(c *WarmerConfig) { c.Inventory = "ftp://host" }, "inventory"},
		{func(c *WarmerConfig) { c.Interval = 0 }, "interval"},
		{func(c *WarmerConfig) { c.FetchTimeout = 0 }, "fetch_timeout"},
		{func(c *WarmerConfig) { c.Retries = -1 }, "retries"},
	} {
		c := ok
		tt.change(&c)
		if err := c.Validate(); err == nil || !bytes.Contains([]byte(err.Error()), []byte(tt.want)) {
			t.Errorf("Validate(%+v) = %v, want an error naming %s", c, err, tt.want)
		}
	}
}
