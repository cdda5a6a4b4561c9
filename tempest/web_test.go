package tempest_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/toilhq/toil/internal/testserver"
	"github.com/toilhq/toil/queue/queuetest"
	"github.com/toilhq/toil/redis"
	"github.com/toilhq/toil/tempest"
	"github.com/toilhq/toil/toiltest"
)

// webRedis starts a redis-server for the test and a client of its own.
func webRedis(t *testing.T) (*testserver.RedisServer, *goredis.Client) {
	t.Helper()
	rs := testserver.Redis(t)
	rdb := goredis.NewClient(&goredis.Options{Addr: rs.Addr(), MaxRetries: -1})
	t.Cleanup(func() { rdb.Close() })
	return rs, rdb
}

// webCycle builds a cycle's slates: placement i gets sizes[i] ads, best
// first, each of its own campaign.
func webCycle(cycle int64, sizes ...int) tempest.Slates {
	s := tempest.Slates{Cycle: cycle}
	for i, n := range sizes {
		p := tempest.Placement{ID: fmt.Sprintf("p%d", i+1), Site: "site.example", Slot: "top", Category: "news",
			Geo: "us", Device: "desktop", Width: 300, Height: 250}
		s.Placements = append(s.Placements, p)
		sl := tempest.Slate{Placement: p.ID, Cycle: cycle, Ads: []tempest.ScoredAd{}}
		for j := range n {
			sl.Ads = append(sl.Ads, tempest.ScoredAd{
				Placement: p.ID, Ad: fmt.Sprintf("c%d-%s-ad%d", cycle, p.ID, j+1),
				Campaign: fmt.Sprintf("camp%d", j+1), Advertiser: fmt.Sprintf("adv%d", j+1),
				BidMicros: int64(1_000_000 * (j + 1)), URL: fmt.Sprintf("https://ads.example/%d?src=tempest&slot=%s", j+1, p.ID),
				Text: fmt.Sprintf("ad %d of cycle %d", j+1, cycle), Width: 300, Height: 250,
				CTR: 0.01, Score: float64(100 - j), Model: "v1",
			})
		}
		s.Slates = append(s.Slates, sl)
	}
	return s
}

// webPush writes a cycle the way the pusher does: every slate, the
// placements and tempest:pushed, atomically.
func webPush(t *testing.T, rdb *goredis.Client, s tempest.Slates) {
	t.Helper()
	_, err := rdb.TxPipelined(context.Background(), func(p goredis.Pipeliner) error {
		for _, sl := range s.Slates {
			b, _ := json.Marshal(sl)
			p.Set(context.Background(), tempest.KeySlate(sl.Placement), b, 0)
		}
		b, _ := json.Marshal(s.Placements)
		p.Set(context.Background(), tempest.KeyPlacements, b, 0)
		p.Set(context.Background(), tempest.KeyPushed, s.Cycle, 0)
		return nil
	})
	if err != nil {
		t.Fatalf("push cycle %d: %v", s.Cycle, err)
	}
}

// webStart runs a web service on rs and the events bus events.
func webStart(t *testing.T, rs *testserver.RedisServer, events string) *toiltest.Service {
	t.Helper()
	cfg := fmt.Sprintf("poll: 10ms\nredis: {url: %q, optional: true}\nevents: {url: %q, topic: %s}",
		rs.URL(), events, tempest.TopicEvents)
	return toiltest.Run(t, &tempest.Web{}, toiltest.Name("tempest.web"), toiltest.Config(cfg))
}

type webAnswer struct {
	code   int
	header http.Header
	body   []byte
}

func webDo(t *testing.T, method, url string) webAnswer {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, url, err)
	}
	return webAnswer{resp.StatusCode, resp.Header, body}
}

// webDecode decodes a 200 answer into v.
func webDecode(t *testing.T, a webAnswer, v any) {
	t.Helper()
	if a.code != http.StatusOK {
		t.Fatalf("answer %d %s, want 200", a.code, a.body)
	}
	if err := json.Unmarshal(a.body, v); err != nil {
		t.Fatalf("answer %s: %v", a.body, err)
	}
}

// webErrorBody checks a is an error answer with code and a JSON error
// saying something.
func webErrorBody(t *testing.T, what string, a webAnswer, code int) string {
	t.Helper()
	if a.code != code {
		t.Errorf("%s = %d %s, want %d", what, a.code, a.body, code)
	}
	if ct := a.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s: Content-Type %q, want application/json", what, ct)
	}
	var e tempest.ErrorResponse
	if err := json.Unmarshal(a.body, &e); err != nil || e.Error == "" {
		t.Errorf("%s: body %s is not a JSON error (%v)", what, a.body, err)
	}
	return e.Error
}

// webWait polls cond until it holds, failing the test after a generous
// deadline: the condition is an event (a poll of Redis), not a speed.
func webWait(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// webWant is what GET /ads should answer for slate sl and n, computed
// from the slate rather than by web's code.
func webWant(sl tempest.Slate, n int) tempest.AdsResponse {
	want := tempest.AdsResponse{Placement: sl.Placement, Cycle: sl.Cycle, Ads: []tempest.ServedAd{}}
	for i, a := range sl.Ads {
		if i == n {
			break
		}
		want.Ads = append(want.Ads, tempest.ServedAd{ID: a.Ad, Campaign: a.Campaign, URL: a.URL, Text: a.Text,
			Width: a.Width, Height: a.Height, Score: a.Score})
	}
	return want
}

func webAds(t *testing.T, svc *toiltest.Service, query string) tempest.AdsResponse {
	t.Helper()
	var got tempest.AdsResponse
	webDecode(t, webDo(t, http.MethodGet, svc.URL("/ads?"+query)), &got)
	return got
}

func webEqual(t *testing.T, what string, got, want any) {
	t.Helper()
	g, _ := json.Marshal(got)
	w, _ := json.Marshal(want)
	if string(g) != string(w) {
		t.Errorf("%s =\n%s\nwant\n%s", what, g, w)
	}
}

func TestWebServesPushedSlates(t *testing.T) {
	t.Parallel()
	rs, rdb := webRedis(t)
	one := webCycle(1, 12, 2, 0)
	webPush(t, rdb, one)
	web := webStart(t, rs, queuetest.MemURL(t))
	web.WaitReady()

	var pl tempest.PlacementsResponse
	webDecode(t, webDo(t, http.MethodGet, web.URL("/placements")), &pl)
	webEqual(t, "GET /placements", pl, tempest.PlacementsResponse{Cycle: 1, Placements: one.Placements})

	for _, tc := range []struct {
		query string
		slate int
		n     int
	}{
		{"placement=p1", 0, 3}, // n defaults to 3
		{"placement=p1&n=1", 0, 1},
		{"placement=p1&n=10", 0, 10},
		{"n=5&placement=p2", 1, 5}, // fewer ads than asked
		{"placement=p3&n=4", 2, 4}, // an empty slate
	} {
		webEqual(t, "GET /ads?"+tc.query, webAds(t, web, tc.query), webWant(one.Slates[tc.slate], tc.n))
	}
	// Ad URLs come out as written: JSON for programs, & not escaped.
	if body := webDo(t, http.MethodGet, web.URL("/ads?placement=p1")).body; !strings.Contains(string(body), "?src=tempest&slot=p1") {
		t.Errorf("GET /ads should keep the ad URL's & as is:\n%s", body)
	}

	// A newer cycle, with other placements, replaces the whole snapshot.
	two := webCycle(2, 1, 7)
	webPush(t, rdb, two)
	webWait(t, "web to serve cycle 2", func() bool {
		var pl tempest.PlacementsResponse
		webDecode(t, webDo(t, http.MethodGet, web.URL("/placements")), &pl)
		return pl.Cycle == 2
	})
	webDecode(t, webDo(t, http.MethodGet, web.URL("/placements")), &pl)
	webEqual(t, "GET /placements after cycle 2", pl, tempest.PlacementsResponse{Cycle: 2, Placements: two.Placements})
	webEqual(t, "GET /ads?placement=p2&n=6", webAds(t, web, "placement=p2&n=6"), webWant(two.Slates[1], 6))
	webErrorBody(t, "GET /ads?placement=p3 (gone in cycle 2)", webDo(t, http.MethodGet, web.URL("/ads?placement=p3")), http.StatusNotFound)
}

func TestWebRejectsBadRequests(t *testing.T) {
	t.Parallel()
	rs, rdb := webRedis(t)
	webPush(t, rdb, webCycle(1, 5))
	web := webStart(t, rs, queuetest.MemURL(t))
	web.WaitReady()

	long := "placement=p1&pad=" + strings.Repeat("x", 2048)
	for _, tc := range []struct {
		method, path string
		code         int
		mention      string // a word the error must hold, so it says what was wrong
	}{
		{"GET", "/ads?placement=nope", 404, "nope"},
		{"GET", "/ads?placement=p1&n=0", 400, "n is"},
		{"GET", "/ads?placement=p1&n=11", 400, "n is"},
		{"GET", "/ads?placement=p1&n=abc", 400, "abc"},
		{"GET", "/ads?placement=p1&n=", 400, "n is"},
		{"GET", "/ads?n=3", 400, "placement"},
		{"GET", "/ads?placement=", 400, "placement"},
		{"GET", "/ads?placement=%zz", 400, "query"},
		{"GET", "/ads?" + long, 414, "2065 bytes"},
		{"POST", "/ads?placement=p1", 405, "GET"},
		{"DELETE", "/placements", 405, "GET"},
		{"GET", "/impression?placement=p1&ad=c1-p1-ad1", 405, "POST"},
		{"POST", "/impression?placement=p1&ad=nope", 404, "nope"},
		{"POST", "/click?placement=nope&ad=c1-p1-ad1", 404, "nope"},
		{"POST", "/click?placement=p1", 400, "ad"},
		{"POST", "/impression?" + long, 414, "bytes"},
		{"GET", "/nowhere", 404, "/nowhere"},
		{"GET", "/placements/p1", 404, "/placements/p1"},
		{"GET", "/" + strings.Repeat("x", 9000), 404, "xxx..."}, // echoed cut short
	} {
		what := tc.method + " " + tc.path
		if len(what) > 80 {
			what = what[:80] + "..."
		}
		a := webDo(t, tc.method, web.URL(tc.path))
		msg := webErrorBody(t, what, a, tc.code)
		if len(msg) > 400 {
			t.Errorf("%s: a %d-byte error; it should not echo a long path whole", what, len(msg))
		}
		if !strings.Contains(msg, tc.mention) {
			t.Errorf("%s: error %q does not mention %q", what, msg, tc.mention)
		}
		if tc.code == http.StatusMethodNotAllowed && a.header.Get("Allow") == "" {
			t.Errorf("%s: 405 without an Allow header", what)
		}
	}
}

func TestWebBeforeTheFirstCycle(t *testing.T) {
	t.Parallel()
	rs, rdb := webRedis(t)
	web := webStart(t, rs, queuetest.MemURL(t))
	web.WaitReady()

	for _, path := range []string{"/placements", "/ads?placement=p1"} {
		a := webDo(t, http.MethodGet, web.URL(path))
		webErrorBody(t, "GET "+path+" before any cycle", a, http.StatusServiceUnavailable)
		if a.header.Get("Retry-After") == "" {
			t.Errorf("GET %s: 503 without Retry-After", path)
		}
	}
	a := webDo(t, http.MethodPost, web.URL("/impression?placement=p1&ad=x"))
	webErrorBody(t, "POST /impression before any cycle", a, http.StatusServiceUnavailable)

	// The first push is picked up with no action.
	one := webCycle(1, 4)
	webPush(t, rdb, one)
	webWait(t, "web to serve cycle 1", func() bool {
		return webDo(t, http.MethodGet, web.URL("/placements")).code == http.StatusOK
	})
	webEqual(t, "GET /ads?placement=p1", webAds(t, web, "placement=p1"), webWant(one.Slates[0], 3))
}

var webStaleHeader = regexp.MustCompile(`^redis unavailable since \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$`)

func TestWebSurvivesRedisOutage(t *testing.T) {
	t.Parallel()
	rs, rdb := webRedis(t)
	one := webCycle(1, 6)
	webPush(t, rdb, one)
	events := queuetest.MemURL(t)
	web := webStart(t, rs, events)
	web.WaitReady()
	if a := webDo(t, http.MethodGet, web.URL("/ads?placement=p1")); a.header.Get("X-Tempest-Stale") != "" {
		t.Fatalf("X-Tempest-Stale = %q while redis is up", a.header.Get("X-Tempest-Stale"))
	}

	rs.Stop()
	var a webAnswer
	webWait(t, "web to notice redis is down", func() bool {
		a = webDo(t, http.MethodGet, web.URL("/ads?placement=p1&n=4"))
		return a.header.Get("X-Tempest-Stale") != ""
	})
	if h := a.header.Get("X-Tempest-Stale"); !webStaleHeader.MatchString(h) {
		t.Errorf("X-Tempest-Stale = %q, want %s", h, webStaleHeader)
	}
	var got tempest.AdsResponse
	webDecode(t, a, &got)
	webEqual(t, "GET /ads while redis is down", got, webWant(one.Slates[0], 4))
	// Events go to the queue, not Redis: they still work.
	if a := webDo(t, http.MethodPost, web.URL("/impression?placement=p1&ad=c1-p1-ad2")); a.code != http.StatusAccepted {
		t.Errorf("POST /impression while redis is down = %d %s, want 202", a.code, a.body)
	}

	// A web started during the outage has nothing to serve: 503, and
	// ready all the same (optional redis), so it is not restarted.
	fresh := webStart(t, rs, events)
	fresh.WaitReady()
	a = webDo(t, http.MethodGet, fresh.URL("/ads?placement=p1"))
	webErrorBody(t, "GET /ads on a web started while redis is down", a, http.StatusServiceUnavailable)
	if a.header.Get("Retry-After") == "" {
		t.Error("503 without Retry-After")
	}
	for name, svc := range map[string]*toiltest.Service{"old": web, "fresh": fresh} {
		if r := webDo(t, http.MethodGet, svc.AdminURL("/readyz")); r.code != http.StatusOK {
			t.Errorf("%s web /readyz while redis is down = %d %s, want 200", name, r.code, r.body)
		}
	}
	rs.Restart() // empty, as after a crash without persistence

	// Redis is back: the old web drops the stale mark and both serve the
	// next cycle, with no action.
	webWait(t, "the old web to notice redis is back", func() bool {
		return webDo(t, http.MethodGet, web.URL("/ads?placement=p1")).header.Get("X-Tempest-Stale") == ""
	})
	two := webCycle(2, 3)
	webPush(t, rdb, two)
	for name, svc := range map[string]*toiltest.Service{"old": web, "fresh": fresh} {
		webWait(t, "the "+name+" web to serve cycle 2", func() bool {
			a := webDo(t, http.MethodGet, svc.URL("/ads?placement=p1"))
			var got tempest.AdsResponse
			return a.code == http.StatusOK && json.Unmarshal(a.body, &got) == nil && got.Cycle == 2
		})
		webEqual(t, name+" web: GET /ads?placement=p1&n=10", webAds(t, svc, "placement=p1&n=10"), webWant(two.Slates[0], 10))
	}
}

func TestReadSlate(t *testing.T) {
	t.Parallel()
	_, rdb := webRedis(t)
	one := webCycle(7, 2)
	webPush(t, rdb, one)
	got, err := tempest.ReadSlate(context.Background(), rdb, "p1")
	if err != nil {
		t.Fatal(err)
	}
	webEqual(t, "ReadSlate(p1)", got, one.Slates[0])
	if _, err := tempest.ReadSlate(context.Background(), rdb, "p2"); !errors.Is(err, redis.Nil) {
		t.Errorf("ReadSlate(p2) error = %v, want one wrapping redis.Nil", err)
	}
}

// With snapshot: set, a web started while Redis is down serves the last
// cycle another worker saved, marked stale, instead of answering 503; and
// one started on an empty Redis (restarted without its data) serves it too.
func TestWebStartsFromTheSavedCycle(t *testing.T) {
	t.Parallel()
	rs, rdb := webRedis(t)
	events := queuetest.MemURL(t)
	file := filepath.Join(t.TempDir(), "web", "slates.json")
	start := func() *toiltest.Service {
		cfg := fmt.Sprintf("poll: 10ms\nsnapshot: %q\nredis: {url: %q, optional: true}\nevents: {url: %q, topic: %s}",
			file, rs.URL(), events, tempest.TopicEvents)
		svc := toiltest.Run(t, &tempest.Web{}, toiltest.Name("tempest.web"), toiltest.Config(cfg))
		svc.WaitReady()
		return svc
	}
	one := webCycle(7, 4, 2)
	webPush(t, rdb, one)
	first := start()
	webWait(t, "the first web to save cycle 7", func() bool {
		_, err := os.Stat(file)
		return err == nil
	})
	first.Stop()

	rs.Stop()
	down := start()
	a := webDo(t, http.MethodGet, down.URL("/ads?placement=p1&n=4"))
	if a.code != http.StatusOK || a.header.Get("X-Tempest-Stale") == "" {
		t.Fatalf("GET /ads from a web started while redis is down = %d (X-Tempest-Stale %q) %s; want 200 from the saved cycle, marked stale",
			a.code, a.header.Get("X-Tempest-Stale"), a.body)
	}
	webEqual(t, "GET /ads from the saved cycle", webAds(t, down, "placement=p1&n=4"), webWant(one.Slates[0], 4))

	rs.Start() // empty
	empty := start()
	webEqual(t, "GET /ads from a web started on an empty redis", webAds(t, empty, "placement=p2&n=2"), webWant(one.Slates[1], 2))
}
