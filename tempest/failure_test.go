//go:build linux

package tempest

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	goredis "github.com/redis/go-redis/v9"

	"github.com/toilhq/toil"
	"github.com/toilhq/toil/internal/testserver"
	"github.com/toilhq/toil/queue"
	"github.com/toilhq/toil/toiltest"
)

// TestFailure runs tempest's stages as separate worker processes, as
// toil dev and toil up do, and breaks things under them: a pusher worker
// SIGKILLed mid-stream, Redis SIGKILLed and restarted empty mid-run. The
// stage binaries are built once, here, for every subtest.
func TestFailure(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds every tempest stage and runs them as processes")
	}
	bins := failBinaries(t, t.TempDir(),
		"tempest.inventory", "tempest.warmer", "tempest.prefilter", "tempest.scorer",
		"tempest.postfilter", "tempest.pusher", "tempest.web", "tempest.stats")
	t.Run("PusherKilledMidStream", func(t *testing.T) {
		t.Parallel()
		failPusherKilled(t, bins)
	})
	t.Run("RedisRestartedMidRun", func(t *testing.T) {
		t.Parallel()
		failRedisRestarted(t, bins)
	})
}

// failSlatesSource plays the postfilter for the pusher test: it publishes
// Slates on the pusher's topic, so the test knows exactly what was
// published for every cycle.
type failSlatesSource struct {
	toil.Base[struct{}]

	Out queue.Publisher[Slates]
}

// failCycleSlates is what the postfilter would publish for cycle c: the
// same common placements every cycle, each with a slate whose ads change
// with the cycle (a slate torn between two cycles would show), plus one
// placement only this cycle has, so a Slates message that was never
// pushed leaves a placement with no slate at all.
func failCycleSlates(c int64, common int) Slates {
	var s Slates
	s.Cycle = c
	ids := make([]string, 0, common+1)
	for i := range common {
		ids = append(ids, fmt.Sprintf("fail-p%03d", i))
	}
	ids = append(ids, fmt.Sprintf("fail-only-%04d", c))
	for _, id := range ids {
		s.Placements = append(s.Placements, Placement{ID: id, Site: "fail.example", Slot: "top", Category: "news", Geo: "us", Device: "desktop", Width: 300, Height: 250})
		slate := Slate{Placement: id, Cycle: c}
		for k := range 10 {
			// Ten advertisers, the ad of each rotating with the cycle.
			ad := fmt.Sprintf("ad-%d-%d", k, (c+int64(k))%7)
			slate.Ads = append(slate.Ads, ScoredAd{
				Placement: id, Ad: ad, Campaign: "camp-" + ad, Advertiser: fmt.Sprintf("adv-%d", k),
				BidMicros: 1000 + c, URL: "https://fail.example/" + ad,
				Text:  fmt.Sprintf("cycle %d ad %s: a text long enough to give the pusher some bytes to move", c, ad),
				Width: 300, Height: 250, CTR: 0.01, Score: float64(10*(10-k)) + float64(c)/1e6, Model: "v1",
			})
		}
		s.Slates = append(s.Slates, slate)
	}
	return s
}

// failPusherKilled: two pusher processes share the slates topic; cycles
// flow; one pusher is SIGKILLed while it holds a message it has not
// acknowledged. Afterwards every cycle's slates are in Redis (none lost:
// each cycle's own placement has its slate), the common placements hold
// the last cycle's slates exactly as published, and a reader that read
// every slate in one MGET throughout never saw two cycles at once or a
// slate that was not exactly one that was published.
func failPusherKilled(t *testing.T, bins map[string]string) {
	const (
		cycles = 400
		common = 40
	)
	nats := testserver.NATS(t)
	rs := testserver.Redis(t)
	cfg := filepath.Join(t.TempDir(), "toil.config.yaml")
	// redeliver_after is short so the killed worker's message goes to the
	// other one in seconds; it still exceeds the retries' total wait, as
	// the queue requires.
	writeFailConfig(t, cfg, `
tempest.pusher:
  in: {backend: nats, topic: tempest.slates, redeliver_after: 3s}
`)
	env := []string{"NATS_URL=" + nats.URL(), "REDIS_URL=" + rs.URL()}
	src := &failSlatesSource{}
	toiltest.Run(t, src, toiltest.Name("test.failslates"),
		toiltest.Config(fmt.Sprintf("out: {url: %q, topic: %s}", nats.URL(), TopicSlates))).WaitReady()

	published := make([]Slates, cycles+1)
	for c := int64(1); c <= cycles; c++ {
		published[c] = failCycleSlates(c, common)
	}
	publish := func(from, to int64) {
		t.Helper()
		for c := from; c <= to; c++ {
			if err := src.Out.Publish(t.Context(), published[c]); err != nil {
				t.Fatalf("publish cycle %d: %v", c, err)
			}
		}
	}
	// Half the cycles wait in the stream when the pushers start, so each
	// takes a batch it has not acknowledged; the other half is published
	// after the kill, so the kill is surely mid-stream.
	publish(1, cycles/2)

	rdb := goredis.NewClient(&goredis.Options{Addr: rs.Addr()})
	t.Cleanup(func() { rdb.Close() })
	ctx := t.Context()

	// The reader: every common slate in one MGET, over and over, until the
	// last cycle is pushed.
	var commonKeys []string
	for i := range common {
		commonKeys = append(commonKeys, KeySlate(fmt.Sprintf("fail-p%03d", i)))
	}
	readerStop := make(chan struct{})
	readerDone := make(chan failReadResult, 1)
	go func() { readerDone <- failReadSlates(ctx, rdb, commonKeys, published, readerStop) }()
	stopReader := sync.OnceValue(func() failReadResult {
		close(readerStop)
		return <-readerDone
	})
	t.Cleanup(func() { stopReader() })

	victim := failStart(t, bins["tempest.pusher"], "tempest.pusher", failProcOpts{Worker: 1, Env: env, Config: cfg})
	other := failStart(t, bins["tempest.pusher"], "tempest.pusher", failProcOpts{Worker: 2, Env: env, Config: cfg})

	// Kill the victim while it holds messages: its queue metrics say it
	// received more than it acknowledged, after it has pushed a few.
	var atKill failQueueCounts
	failEventually(t, 2*time.Minute, func() bool {
		n, err := failScrapeQueue(victim.Admin, TopicSlates)
		if err != nil || n.acked < 3 || n.consumed <= n.acked {
			if err == nil && n.consumed == n.acked && failPushed(ctx, rdb) == cycles/2 {
				t.Fatalf("the first %d cycles were pushed before the victim was caught holding a message (it acked %v); make the backlog longer", cycles/2, n.acked)
			}
			return false
		}
		victim.Kill()
		atKill = n
		return true
	}, func() string { return "the victim pusher never held an unacknowledged message\n" + victim.Log() })
	if exited, err := victim.Exited(); !exited || !strings.Contains(fmt.Sprint(err), "killed") {
		t.Fatalf("victim pusher: exited %v, %v; want killed by SIGKILL", exited, err)
	}
	t.Logf("killed pusher 1 mid-stream: it had received %v and acknowledged %v Slates", atKill.consumed, atKill.acked)
	publish(cycles/2+1, cycles)

	// The surviving pusher gets the victim's unacknowledged messages once
	// redeliver_after passes, and pushes the rest.
	failEventually(t, 2*time.Minute, func() bool {
		if done, _ := other.Exited(); done {
			t.Fatalf("the surviving pusher exited: %v\n%s", other.err, other.Log())
		}
		return failPushed(ctx, rdb) == cycles && failAllOnly(ctx, rdb, cycles)
	}, func() string {
		return fmt.Sprintf("pushed is %d, want %d; missing cycle-only slates: %v\n%s", failPushed(ctx, rdb), cycles, failMissingOnly(ctx, rdb, cycles), other.Log())
	})
	read := stopReader()

	// The message the victim held was handed out again: the group's
	// deliveries outnumber the messages in the stream.
	nc, err := natsgo.Connect(nats.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	cons, err := js.Consumer(ctx, "tempest_slates", "tempest_pusher")
	if err != nil {
		t.Fatalf("the pushers' consumer on stream tempest_slates: %v", err)
	}
	info, err := cons.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.Delivered.Consumer <= info.Delivered.Stream {
		t.Errorf("the pushers' group got %d deliveries of %d messages: the killed pusher's unacknowledged message was never redelivered", info.Delivered.Consumer, info.Delivered.Stream)
	}
	t.Logf("the pushers' group got %d deliveries of %d messages", info.Delivered.Consumer, info.Delivered.Stream)

	// No slate lost: each cycle's own placement has exactly that cycle's
	// slate, the message the victim held included.
	for c := int64(1); c <= cycles; c++ {
		id := fmt.Sprintf("fail-only-%04d", c)
		failCheckSlate(t, ctx, rdb, id, published[c].Slates[common])
	}
	// The common placements: the last cycle's slates, whole, as published.
	for i := range common {
		failCheckSlate(t, ctx, rdb, fmt.Sprintf("fail-p%03d", i), published[cycles].Slates[i])
	}
	var placements []Placement
	if raw, err := rdb.Get(ctx, KeyPlacements).Bytes(); err != nil {
		t.Fatalf("GET %s: %v", KeyPlacements, err)
	} else if err := json.Unmarshal(raw, &placements); err != nil || !reflect.DeepEqual(placements, published[cycles].Placements) {
		t.Errorf("%s is not cycle %d's placements (err %v): %s", KeyPlacements, cycles, err, raw)
	}
	if read.err != "" {
		t.Errorf("a reader saw a torn or foreign state: %s", read.err)
	}
	if read.reads == 0 || len(read.cycles) < 2 {
		t.Errorf("the reader read %d times and saw cycles %v; it watched nothing", read.reads, read.cycles)
	}
	t.Logf("reader: %d MGETs of %d slates, %d distinct cycles seen, none torn", read.reads, common, len(read.cycles))
}

// failCheckSlate fails the test unless placement's stored slate is whole
// JSON, has unique ads, and equals want.
func failCheckSlate(t *testing.T, ctx context.Context, rdb *goredis.Client, placement string, want Slate) {
	t.Helper()
	raw, err := rdb.Get(ctx, KeySlate(placement)).Bytes()
	if err != nil {
		t.Errorf("slate of %s: %v", placement, err)
		return
	}
	var got Slate
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Errorf("slate of %s is not whole JSON: %v: %.200s", placement, err, raw)
		return
	}
	seen := map[string]bool{}
	for _, a := range got.Ads {
		if seen[a.Ad] {
			t.Errorf("slate of %s holds ad %s twice", placement, a.Ad)
		}
		seen[a.Ad] = true
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("slate of %s is cycle %d's with %d ads; want cycle %d's as published, %d ads", placement, got.Cycle, len(got.Ads), want.Cycle, len(want.Ads))
	}
}

// failReadResult is what the concurrent reader saw.
type failReadResult struct {
	reads  int
	cycles map[int64]bool
	err    string // the first torn or foreign state seen
}

// failReadSlates MGETs keys until stop is closed; every read must be all
// absent (nothing pushed yet) or every slate exactly the one published for
// one cycle.
func failReadSlates(ctx context.Context, rdb *goredis.Client, keys []string, published []Slates, stop <-chan struct{}) failReadResult {
	res := failReadResult{cycles: map[int64]bool{}}
	for {
		select {
		case <-stop:
			return res
		default:
		}
		vals, err := rdb.MGet(ctx, keys...).Result()
		if err != nil {
			if ctx.Err() != nil {
				return res
			}
			continue
		}
		res.reads++
		if res.err != "" {
			continue
		}
		if vals[0] == nil {
			if slices.ContainsFunc(vals, func(v any) bool { return v != nil }) {
				res.err = "some slates present and some not in one read"
			}
			continue
		}
		var cycle int64 = -1
		for i, v := range vals {
			var s Slate
			str, _ := v.(string)
			if err := json.Unmarshal([]byte(str), &s); err != nil {
				res.err = fmt.Sprintf("%s is not whole JSON: %v", keys[i], err)
				break
			}
			if cycle == -1 {
				cycle = s.Cycle
			}
			if s.Cycle != cycle {
				res.err = fmt.Sprintf("one read holds cycle %d (%s) and cycle %d (%s)", cycle, keys[0], s.Cycle, keys[i])
				break
			}
			if s.Cycle < 1 || s.Cycle >= int64(len(published)) || !reflect.DeepEqual(s, published[s.Cycle].Slates[i]) {
				res.err = fmt.Sprintf("%s holds a slate of cycle %d that is not the one published", keys[i], s.Cycle)
				break
			}
		}
		res.cycles[cycle] = true
	}
}

// failPushed is tempest:pushed, 0 when unset or unreadable.
func failPushed(ctx context.Context, rdb *goredis.Client) int64 {
	n, _ := rdb.Get(ctx, KeyPushed).Int64()
	return n
}

// failMissingOnly lists the cycles whose own placement has no slate.
func failMissingOnly(ctx context.Context, rdb *goredis.Client, cycles int64) []int64 {
	keys := make([]string, 0, cycles)
	for c := int64(1); c <= cycles; c++ {
		keys = append(keys, KeySlate(fmt.Sprintf("fail-only-%04d", c)))
	}
	vals, err := rdb.MGet(ctx, keys...).Result()
	if err != nil {
		return []int64{-1}
	}
	var missing []int64
	for i, v := range vals {
		if v == nil {
			missing = append(missing, int64(i+1))
		}
	}
	return missing
}

func failAllOnly(ctx context.Context, rdb *goredis.Client, cycles int64) bool {
	return len(failMissingOnly(ctx, rdb, cycles)) == 0
}

// failQueueCounts are a consumer field's counters in a worker's /metrics.
type failQueueCounts struct {
	consumed, acked float64
}

// failScrapeQueue reads toil_queue_consumed_total and toil_queue_acked_total
// for topic from the worker's admin /metrics.
func failScrapeQueue(admin, topic string) (failQueueCounts, error) {
	var n failQueueCounts
	m, err := failScrape(admin)
	if err != nil {
		return n, err
	}
	for line, v := range m {
		if !strings.Contains(line, `topic="`+topic+`"`) {
			continue
		}
		switch {
		case strings.HasPrefix(line, "toil_queue_consumed_total{"):
			n.consumed = v
		case strings.HasPrefix(line, "toil_queue_acked_total{"):
			n.acked = v
		}
	}
	return n, nil
}

// failScrape reads a worker's /metrics into series → value.
func failScrape(admin string) (map[string]float64, error) {
	c := &http.Client{Timeout: 5 * time.Second}
	res, err := c.Get("http://" + admin + "/metrics")
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /metrics: %s", res.Status)
	}
	m := map[string]float64{}
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			continue
		}
		m[line[:i]] = v
	}
	return m, sc.Err()
}

// writeFailConfig writes a stage config file.
func writeFailConfig(t *testing.T, path, yaml string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(strings.TrimLeft(yaml, "\n")), 0o644); err != nil {
		t.Fatal(err)
	}
}

// failPipelineConfig is every stage's section for a pipeline on NATS with
// a short cycle, an inventory with malformed records and a failure rate,
// and queue retries short enough that a message failing while Redis is
// down is dead-lettered within seconds.
func failPipelineConfig(inventory string) string {
	consumer := func(topic string) string {
		return fmt.Sprintf("{backend: nats, topic: %s, redeliver_after: 5s}", topic)
	}
	pub := func(topic string) string { return fmt.Sprintf("{backend: nats, topic: %s}", topic) }
	return fmt.Sprintf(`
tempest.inventory:
  campaigns: 200
  placements: 12
  page_size: 50
  latency: 5ms
  failure_rate: 0.05
tempest.warmer:
  inventory: %s
  interval: 500ms
  jobs: %s
  plan: %s
  out: %s
tempest.prefilter:
  in: %s
  out: %s
tempest.scorer:
  in: %s
  out: %s
tempest.postfilter:
  in: %s
  out: %s
tempest.pusher:
  in: %s
tempest.web:
  poll: 100ms
  events: %s
tempest.stats:
  in: %s
`, inventory,
		consumer(TopicPages), pub(TopicPages), pub(TopicBatches),
		consumer(TopicBatches), pub(TopicCandidates),
		consumer(TopicCandidates), pub(TopicScored),
		consumer(TopicScored), pub(TopicSlates),
		consumer(TopicSlates),
		pub(TopicEvents),
		consumer(TopicEvents))
}

// failPoll is one answer web gave while the test polled it.
type failPoll struct {
	status int
	stale  bool
	body   string
	err    error
}

// failRedisRestarted runs the whole pipeline as processes (inventory,
// two warmers, prefilter, scorer, postfilter, two pushers, web, stats),
// lets it serve, then SIGKILLs redis-server and starts it again, empty, on
// the same port. While Redis is down web answers every /ads from its last
// slates (X-Tempest-Stale) or a 503 JSON error, never a 500; afterwards
// every stage carries on with no action: a new cycle is planned, scored,
// pushed and served, and an impression reaches stats. The same run
// checks that the inventory's malformed records are counted by the
// prefilter and crash nothing.
func failRedisRestarted(t *testing.T, bins map[string]string) {
	nats := testserver.NATS(t)
	rs := testserver.Redis(t)
	cfg := filepath.Join(t.TempDir(), "toil.config.yaml")
	env := []string{"NATS_URL=" + nats.URL(), "REDIS_URL=" + rs.URL()}
	ctx := t.Context()

	// The inventory first: the warmers need its address in their config.
	invCfg := filepath.Join(t.TempDir(), "inventory.yaml")
	writeFailConfig(t, invCfg, failPipelineConfig("http://127.0.0.1:1"))
	inv := failStart(t, bins["tempest.inventory"], "tempest.inventory", failProcOpts{HTTP: true, Env: env, Config: invCfg})
	writeFailConfig(t, cfg, failPipelineConfig("http://"+inv.Addr()))

	procs := []*failProc{inv}
	start := func(name string, worker int, http bool) *failProc {
		p := failStart(t, bins[name], name, failProcOpts{Worker: worker, HTTP: http, Env: env, Config: cfg})
		procs = append(procs, p)
		return p
	}
	// Downstream first, so no stage publishes to a topic nobody consumes
	// yet (the streams keep messages anyway; this only shortens the run).
	start("tempest.pusher", 1, false)
	start("tempest.pusher", 2, false)
	start("tempest.postfilter", 1, false)
	start("tempest.scorer", 1, false)
	prefilter := start("tempest.prefilter", 1, false)
	stats := start("tempest.stats", 1, false)
	web := start("tempest.web", 1, true)
	start("tempest.warmer", 1, false)
	start("tempest.warmer", 2, false)

	alive := func() {
		t.Helper()
		for _, p := range procs {
			if done, err := p.Exited(); done {
				t.Fatalf("%s.%d exited: %v\n%s", p.Name, p.Worker, err, p.Log())
			}
		}
	}
	client := &http.Client{Timeout: 5 * time.Second}
	t.Cleanup(client.CloseIdleConnections)
	get := func(path string) failPoll {
		res, err := client.Get("http://" + web.Addr() + path)
		if err != nil {
			return failPoll{err: err}
		}
		defer res.Body.Close()
		body, err := io.ReadAll(res.Body)
		return failPoll{status: res.StatusCode, stale: res.Header.Get("X-Tempest-Stale") != "", body: string(body), err: err}
	}

	// Placements web serves, once a cycle is pushed.
	var placements []Placement
	failEventually(t, 3*time.Minute, func() bool {
		alive()
		r := get("/placements")
		if r.status != http.StatusOK {
			return false
		}
		var body struct {
			Cycle      int64       `json:"cycle"`
			Placements []Placement `json:"placements"`
		}
		if json.Unmarshal([]byte(r.body), &body) != nil || body.Cycle < 1 || len(body.Placements) == 0 {
			return false
		}
		placements = body.Placements
		return true
	}, func() string { return "web never served a pushed cycle\n" + web.Log() })
	before := get("/ads?placement=" + placements[0].ID + "&n=10")
	if before.status != http.StatusOK {
		t.Fatalf("GET /ads before the crash: %d %s", before.status, before.body)
	}

	// Malformed inventory records: counted and dropped by the prefilter,
	// which is still running (alive() checks every stage throughout).
	m, err := failScrape(prefilter.Admin)
	if err != nil {
		t.Fatalf("scrape the prefilter: %v", err)
	}
	if n := m[`tempest_prefilter_dropped_total{reason="malformed"}`]; n < 1 {
		t.Errorf("tempest_prefilter_dropped_total{reason=\"malformed\"} is %v after a cycle; the seeded inventory serves malformed records", n)
	} else {
		t.Logf("prefilter dropped %v malformed records, no stage crashed", n)
	}

	// Poll web throughout the outage and the recovery, recording every
	// answer.
	var (
		mu    sync.Mutex
		polls []failPoll
	)
	pollStop := make(chan struct{})
	pollDone := make(chan struct{})
	go func() {
		defer close(pollDone)
		// Paced, so the poller leaves the two cores to the stages.
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-pollStop:
				return
			case <-tick.C:
			}
			r := get(fmt.Sprintf("/ads?placement=%s&n=3", placements[i%len(placements)].ID))
			mu.Lock()
			polls = append(polls, r)
			mu.Unlock()
		}
	}()
	stopPolling := sync.OnceFunc(func() { close(pollStop); <-pollDone })
	t.Cleanup(stopPolling)
	pollsSince := func(from int) []failPoll {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(polls[min(from, len(polls)):])
	}
	mark := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(polls)
	}

	rs.Kill()
	crashed := time.Now()
	outageFrom := mark()
	// Down until web has noticed (its answers are marked stale) and every
	// stage has had several cycles' worth of failures against a dead Redis.
	failEventually(t, time.Minute, func() bool {
		alive()
		during := pollsSince(outageFrom)
		return slices.ContainsFunc(during, func(p failPoll) bool { return p.stale }) && time.Since(crashed) > 3*time.Second
	}, func() string {
		return fmt.Sprintf("web never marked an answer stale while Redis was down; answers since the crash: %s\n%s", failSummary(pollsSince(outageFrom)), web.Log())
	})
	rs.Start()
	restartedAt := mark()
	outage := pollsSince(outageFrom)[:restartedAt-outageFrom]

	// Recovery, with no action: the warmers plan a new cycle in the empty
	// Redis, the pipeline pushes it, and web serves it, no longer stale.
	rdb := goredis.NewClient(&goredis.Options{Addr: rs.Addr()})
	t.Cleanup(func() { rdb.Close() })
	var served int64
	failEventually(t, 3*time.Minute, func() bool {
		alive()
		pushed := failPushed(ctx, rdb)
		if pushed < 1 {
			return false
		}
		// The postfilter gathered this cycle in the new Redis: it is not a
		// cycle from before the crash.
		if n, _ := rdb.HLen(ctx, KeyCycleScored(pushed)).Result(); n < 1 {
			return false
		}
		for _, p := range placements {
			r := get("/ads?placement=" + p.ID + "&n=10")
			var body struct {
				Cycle int64 `json:"cycle"`
			}
			if r.status != http.StatusOK || r.stale || json.Unmarshal([]byte(r.body), &body) != nil || body.Cycle != pushed {
				return false
			}
		}
		served = pushed
		return true
	}, func() string {
		return fmt.Sprintf("no cycle pushed and served after the restart (pushed %d)\n%s\n%s", failPushed(ctx, rdb), web.Log(), procs[1].Log())
	})
	// What web serves is what the pusher wrote into the new Redis.
	for _, p := range placements {
		var stored Slate
		raw, err := rdb.Get(ctx, KeySlate(p.ID)).Bytes()
		if err != nil || json.Unmarshal(raw, &stored) != nil {
			t.Fatalf("slate of %s after the restart: %v", p.ID, err)
		}
		r := get("/ads?placement=" + p.ID + "&n=10")
		var body struct {
			Cycle int64 `json:"cycle"`
			Ads   []struct {
				ID string `json:"id"`
			} `json:"ads"`
		}
		if err := json.Unmarshal([]byte(r.body), &body); err != nil {
			t.Fatalf("GET /ads %s: %v", p.ID, err)
		}
		var want []string
		for _, a := range stored.Ads[:min(10, len(stored.Ads))] {
			want = append(want, a.Ad)
		}
		var got []string
		for _, a := range body.Ads {
			got = append(got, a.ID)
		}
		if body.Cycle != stored.Cycle || !slices.Equal(got, want) {
			t.Errorf("web serves %s cycle %d ads %v; Redis holds cycle %d ads %v", p.ID, body.Cycle, got, stored.Cycle, want)
		}
	}

	// The event path recovered too: an impression posted now is counted.
	var ad string
	for _, p := range placements {
		r := get("/ads?placement=" + p.ID + "&n=1")
		var body struct {
			Ads []struct {
				ID       string `json:"id"`
				Campaign string `json:"campaign"`
			} `json:"ads"`
		}
		if json.Unmarshal([]byte(r.body), &body) == nil && len(body.Ads) > 0 {
			ad = body.Ads[0].ID
			res, err := client.Post("http://"+web.Addr()+"/impression?placement="+p.ID+"&ad="+ad, "", nil)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != http.StatusAccepted {
				t.Fatalf("POST /impression after the restart: %s", res.Status)
			}
			campaign := body.Ads[0].Campaign
			failEventually(t, time.Minute, func() bool {
				n, _ := rdb.HGet(ctx, KeyCampaignStats(campaign), "impressions").Int64()
				return n >= 1
			}, func() string {
				return "stats never counted the impression posted after the restart\n" + stats.Log()
			})
			break
		}
	}
	if ad == "" {
		t.Errorf("no placement serves an ad after the restart; the seeded inventory has eligible campaigns")
	}
	stopPolling()
	alive()

	// Every answer during the outage: 200 from the last slates, or 503
	// with a JSON error; never a 500, never a refused connection.
	count := map[string]int{}
	for _, p := range outage {
		switch {
		case p.err != nil:
			t.Errorf("GET /ads while Redis was down: %v", p.err)
			count["error"]++
		case p.status == http.StatusOK:
			count[fmt.Sprintf("200 stale=%v", p.stale)]++
		case p.status == http.StatusServiceUnavailable:
			var e struct {
				Error string `json:"error"`
			}
			if json.Unmarshal([]byte(p.body), &e) != nil || e.Error == "" {
				t.Errorf("503 while Redis was down without a JSON error: %s", p.body)
			}
			count["503"]++
		default:
			t.Errorf("GET /ads while Redis was down answered %d: %s", p.status, p.body)
			count[strconv.Itoa(p.status)]++
		}
	}
	if len(outage) == 0 {
		t.Fatal("no request reached web while Redis was down")
	}
	all := pollsSince(0)
	for _, p := range all {
		if p.status >= 500 && p.status != http.StatusServiceUnavailable {
			t.Errorf("web answered %d during the run: %s", p.status, p.body)
		}
	}
	t.Logf("while Redis was down (%d requests): %v; %d requests in all; cycle %d served after the restart",
		len(outage), count, len(all), served)
}

// failSummary counts answers by status and staleness, for messages.
func failSummary(polls []failPoll) string {
	count := map[string]int{}
	for _, p := range polls {
		switch {
		case p.err != nil:
			count["error: "+p.err.Error()]++
		default:
			count[fmt.Sprintf("%d stale=%v", p.status, p.stale)]++
		}
	}
	return fmt.Sprint(count)
}
