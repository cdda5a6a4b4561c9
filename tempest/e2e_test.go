package tempest_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/toilhq/toil"
	"github.com/toilhq/toil/internal/testserver"
	"github.com/toilhq/toil/tempest"
	"github.com/toilhq/toil/toiltest"
)

// The seeded data of the end-to-end tests: several inventory pages, with
// every kind of bad record Seed makes.
const (
	e2eCampaigns  = 300
	e2ePlacements = 24
	e2eSeed       = 7
	e2ePageSize   = 50
)

// e2eBlocklist is the postfilter's blocklist in these tests, given
// explicitly so the oracle does not depend on the default.
var e2eBlocklist = []string{"casino", "crypto", "miracle"}

// e2ePipeline is tempest.all running in a test, and what the test seeded.
type e2ePipeline struct {
	all   *tempest.All
	svc   *toiltest.Service
	data  *tempest.Data
	rdb   *goredis.Client
	web   string // http://host:port
	log   *e2eLog
	epoch time.Time
}

// e2eStart runs tempest.all on queuesURL ("" for its in-process bus) and a
// real redis-server, with a stages file that makes the inventory fail
// often and cycles come quickly, and waits until it is ready.
func e2eStart(t *testing.T, queuesURL string) *e2ePipeline {
	t.Helper()
	rds := testserver.Redis(t)
	epoch := time.Now().UTC().Truncate(time.Hour)
	stages := filepath.Join(t.TempDir(), "toil.config.yaml")
	e2eWriteFile(t, stages, fmt.Sprintf(`
inventory:
  campaigns: %d
  placements: %d
  seed: %d
  epoch: %s
  page_size: %d
  latency: 1ms
  failure_rate: 0.2
warmer:
  interval: 1s
  retries: 8
  backoff: 5ms
postfilter:
  blocklist: [%s]
  slate_size: 10
web:
  poll: 20ms
`, e2eCampaigns, e2ePlacements, e2eSeed, epoch.Format(time.RFC3339), e2ePageSize, strings.Join(e2eBlocklist, ", ")))

	p := &e2ePipeline{
		all:   &tempest.All{},
		data:  tempest.Seed(tempest.SeedConfig{Campaigns: e2eCampaigns, Placements: e2ePlacements, Seed: e2eSeed, Epoch: epoch}),
		log:   &e2eLog{},
		epoch: epoch,
	}
	p.all.StageLog = p.log
	// Registered before the service starts, so it runs after the service
	// has stopped and the stages have written their last line.
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("the stages' log (last 100 lines):\n%s", p.log.tail(100))
		}
	})
	env := []string{"REDIS_URL=" + rds.URL()}
	if queuesURL != "" {
		env = append(env, "NATS_URL="+queuesURL)
	}
	p.svc = toiltest.Run(t, p.all, toiltest.Name("tempest.all"),
		toiltest.Config(fmt.Sprintf("stages: %s\ninventory_addr: 127.0.0.1:0\nweb_addr: 127.0.0.1:0\n", stages)),
		toiltest.Env(env...),
		// Eight stages connect and create their streams in setup; -race
		// on two cores makes that slow, not wrong.
		toiltest.With(toil.WithSetupTimeout(2*time.Minute)))
	p.svc.WaitReady()
	p.web = "http://" + p.all.WebAddr()
	opts, err := goredis.ParseURL(rds.URL())
	if err != nil {
		t.Fatal(err)
	}
	p.rdb = goredis.NewClient(opts)
	t.Cleanup(func() { p.rdb.Close() })
	return p
}

// TestEndToEnd runs every stage as tempest.all on the embedded NATS and a
// real redis-server, over a seeded inventory that fails a fifth of its
// requests and serves malformed records, and checks what web serves for
// every placement against the oracle; then it spends a campaign's budget
// through web's impressions and checks that the next cycle leaves it out.
func TestEndToEnd(t *testing.T) {
	t.Parallel()
	nats := testserver.NATS(t)
	p := e2eStart(t, nats.URL())
	ctx := t.Context()

	// The first cycle, then every placement equals the oracle's slate.
	first := p.waitCycle(t, 0)
	t.Logf("web serves cycle %d", first)
	want := oracleSlates(p.data, oracleInput{At: time.Now(), Blocklist: e2eBlocklist, SlateSize: 10})
	e2eCheckRulesExercised(t, p.data, want)
	p.checkSlates(t, want)

	// Malformed records were counted by the prefilter and served nowhere.
	malformed := 0
	for _, f := range p.data.Flaws {
		if f == tempest.FlawMalformed {
			malformed++
		}
	}
	if malformed == 0 {
		t.Fatal("the seed has no malformed record: the test checks nothing; pick another seed")
	}
	if n := p.metric(t, "prefilter", `tempest_prefilter_dropped_total{reason="malformed"}`); n < float64(malformed) {
		t.Errorf("tempest_prefilter_dropped_total{reason=\"malformed\"} is %v after a whole cycle; the seed served %d malformed records", n, malformed)
	}

	// Spend a campaign's budget through web: most of it written directly
	// (reaching a budget of $50 or more one impression at a time takes
	// thousands of requests), the rest as impressions web publishes and
	// stats counts.
	target := want.Slates[e2eFirstNonEmpty(t, want)][0]
	var campaign tempest.Campaign
	for _, c := range p.data.Campaigns {
		if c.ID == target.Campaign {
			campaign = c
		}
	}
	price := campaign.BidMicros / 1000
	preSpent := campaign.BudgetMicros - 2*price
	if err := p.rdb.HSet(ctx, tempest.KeySpend, campaign.ID, preSpent).Err(); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		p.post(t, "/impression?placement="+target.Placement+"&ad="+target.ID)
	}
	p.post(t, "/click?placement="+target.Placement+"&ad="+target.ID)
	wantSpent := preSpent + 3*price
	e2eWait(t, "stats to count 3 impressions and 1 click of "+campaign.ID, func() (bool, string) {
		st, err := tempest.CampaignStats(ctx, p.rdb, campaign.ID)
		if err != nil {
			return false, err.Error()
		}
		return st.Impressions == 3 && st.Clicks == 1, fmt.Sprintf("%+v", st)
	})
	if st, _ := tempest.CampaignStats(ctx, p.rdb, campaign.ID); st.SpendMicros != 3*price {
		t.Errorf("%s's counters say it spent %d micro-dollars; 3 impressions at %d cost %d", campaign.ID, st.SpendMicros, price, 3*price)
	}
	spent, err := p.rdb.HGet(ctx, tempest.KeySpend, campaign.ID).Int64()
	if err != nil || spent != wantSpent {
		t.Fatalf("tempest:spend %s = %d (%v), want %d: the budget it started with plus 3 impressions (the click costs nothing)", campaign.ID, spent, err, wantSpent)
	}

	// A cycle planned from now on sees the spend: the campaign is out.
	planned, err := p.rdb.Get(ctx, tempest.KeyCycle).Int64()
	if err != nil {
		t.Fatal(err)
	}
	later := p.waitCycle(t, planned)
	t.Logf("web serves cycle %d, planned after %s went over budget", later, campaign.ID)
	after := oracleSlates(p.data, oracleInput{At: time.Now(), Spent: map[string]int64{campaign.ID: spent},
		Blocklist: e2eBlocklist, SlateSize: 10})
	if after.Drops["over_budget"] != 1 {
		t.Fatalf("the oracle drops %d campaigns as over budget, want 1", after.Drops["over_budget"])
	}
	served := p.checkSlates(t, after)
	for pl, ads := range served {
		for _, a := range ads {
			if a.Campaign == campaign.ID {
				t.Errorf("placement %s still serves %s of %s, which spent its budget", pl, a.ID, campaign.ID)
			}
		}
	}
}

// e2eCheckRulesExercised fails the test when the seeded data does not
// exercise each rule the pipeline applies: a test of rules that never fire
// proves nothing.
func e2eCheckRulesExercised(t *testing.T, d *tempest.Data, res oracleResult) {
	t.Helper()
	for _, reason := range []string{"malformed", "invalid", "expired", "bad_creative", "brand_safety", "advertiser_dup", "freq_cap", "slate_size"} {
		if res.Drops[reason] == 0 {
			t.Errorf("the seeded data never triggers %s; pick a seed that does", reason)
		}
	}
	empty := 0
	for _, ads := range res.Slates {
		if len(ads) == 0 {
			empty++
		}
	}
	if empty > len(d.Placements)/2 {
		t.Errorf("%d of %d placements have an empty slate: too few ads to check the ranking", empty, len(d.Placements))
	}
}

// e2eFirstNonEmpty is the first placement, in ID order, whose slate has
// an ad.
func e2eFirstNonEmpty(t *testing.T, res oracleResult) string {
	t.Helper()
	for _, id := range slices.Sorted(maps.Keys(res.Slates)) {
		if len(res.Slates[id]) > 0 {
			return id
		}
	}
	t.Fatal("every slate is empty")
	return ""
}

// waitCycle waits until web serves a cycle after cycle and returns it.
func (p *e2ePipeline) waitCycle(t *testing.T, after int64) int64 {
	t.Helper()
	var got int64
	e2eWait(t, fmt.Sprintf("web to serve a cycle after %d", after), func() (bool, string) {
		var pr tempest.PlacementsResponse
		status, body := e2eGet(t, p.web+"/placements", &pr)
		if status != http.StatusOK {
			return false, fmt.Sprintf("GET /placements: %d %s", status, body)
		}
		got = pr.Cycle
		return pr.Cycle > after, fmt.Sprintf("cycle %d", pr.Cycle)
	})
	return got
}

// checkSlates compares GET /ads?n=10 of every placement with the oracle
// and returns what web served.
func (p *e2ePipeline) checkSlates(t *testing.T, want oracleResult) map[string][]tempest.ServedAd {
	t.Helper()
	served := map[string][]tempest.ServedAd{}
	var pr tempest.PlacementsResponse
	if status, body := e2eGet(t, p.web+"/placements", &pr); status != http.StatusOK {
		t.Fatalf("GET /placements: %d %s", status, body)
	}
	if len(pr.Placements) != len(p.data.Placements) {
		t.Errorf("web lists %d placements, the inventory seeded %d", len(pr.Placements), len(p.data.Placements))
	}
	for _, pl := range p.data.Placements {
		var ar tempest.AdsResponse
		status, body := e2eGet(t, p.web+"/ads?placement="+pl.ID+"&n=10", &ar)
		if status != http.StatusOK {
			t.Errorf("GET /ads?placement=%s: %d %s", pl.ID, status, body)
			continue
		}
		served[pl.ID] = ar.Ads
		if got, w := e2eFormat(ar.Ads), oracleFormat(want.Slates[pl.ID]); got != w {
			t.Errorf("placement %s (cycle %d) serves\n%s\nthe oracle says\n%s", pl.ID, ar.Cycle, got, w)
		}
	}
	return served
}

func e2eFormat(ads []tempest.ServedAd) string {
	var b strings.Builder
	for _, a := range ads {
		fmt.Fprintf(&b, "  %s (%s) %v\n", a.ID, a.Campaign, a.Score)
	}
	return b.String()
}

func oracleFormat(ads []oracleAd) string {
	var b strings.Builder
	for _, a := range ads {
		fmt.Fprintf(&b, "  %s (%s) %v\n", a.ID, a.Campaign, a.Score)
	}
	return b.String()
}

// metric reads one sample from a stage's /metrics.
func (p *e2ePipeline) metric(t *testing.T, stage, sample string) float64 {
	t.Helper()
	resp, err := http.Get("http://" + p.all.AdminAddr(stage) + "/metrics")
	if err != nil {
		t.Fatalf("scrape %s: %v", stage, err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), sample+" "); ok {
			n, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("%s's %s: %v", stage, sample, err)
			}
			return n
		}
	}
	t.Fatalf("%s's /metrics has no %s", stage, sample)
	return 0
}

// post POSTs to web and expects 202.
func (p *e2ePipeline) post(t *testing.T, path string) {
	t.Helper()
	resp, err := http.Post(p.web+path, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("POST %s: %d %s, want 202", path, resp.StatusCode, body)
	}
}

// e2eGet GETs url and decodes a 200 answer into v.
func e2eGet(t *testing.T, url string, v any) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	if resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(body, v); err != nil {
			t.Fatalf("GET %s: %v in %s", url, err, body)
		}
	}
	return resp.StatusCode, string(body)
}

// e2eWait polls cond until it holds, failing the test with cond's last
// word if it does not within a minute: cycles come every second, so a
// minute is a pipeline that is stuck, not slow.
func e2eWait(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	last := ""
	for {
		ok, word := cond()
		if ok {
			return
		}
		last = word
		select {
		case <-ctx.Done():
			t.Fatalf("waiting for %s: still not after a minute; last: %s", what, last)
		case <-tick.C:
		}
	}
}

// e2eLog collects the stages' log lines, to show them when a test fails.
type e2eLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *e2eLog) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(b)
}

func (l *e2eLog) tail(n int) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	lines := strings.Split(strings.TrimRight(l.buf.String(), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

func e2eWriteFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
