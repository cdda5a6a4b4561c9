package tempest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	goredis "github.com/redis/go-redis/v9"

	"github.com/toilhq/toil"
	"github.com/toilhq/toil/queue"
	"github.com/toilhq/toil/redis"
)

// WebConfig is the web service's config, under tempest.web:. Its mixins'
// settings are under http:, redis: and events:.
type WebConfig struct {
	Poll           time.Duration `default:"100ms" help:"how often to check tempest:pushed for a newly pushed cycle"`
	LoadTimeout    time.Duration `default:"2s" help:"how long one check of tempest:pushed, or one load of a cycle's slates, may take"`
	PublishTimeout time.Duration `default:"2s" help:"how long publishing an impression or click may take before the request is answered 503"`
	Snapshot       string        `help:"a file worker 1 keeps the last cycle it loaded in, for any worker to serve from when it starts while Redis is down or empty (empty: none)"`
}

// Validate checks the config; toil calls it on every load.
func (c *WebConfig) Validate() error {
	var errs []error
	for _, d := range []struct {
		key string
		v   time.Duration
	}{{"poll", c.Poll}, {"load_timeout", c.LoadTimeout}, {"publish_timeout", c.PublishTimeout}} {
		if d.v <= 0 {
			errs = append(errs, fmt.Errorf("%s is %s: want a positive duration, e.g. 100ms", d.key, d.v))
		}
	}
	return errors.Join(errs...)
}

// Web serves the pushed slates (service tempest.web, procs 4 behind the
// proxy):
//
//	GET  /placements                  {"cycle":N,"placements":[...]}
//	GET  /ads?placement=ID&n=3        {"placement":ID,"cycle":N,"ads":[...]}, the slate's first n (1..10)
//	POST /impression?placement=P&ad=A 202 {"id":...}, an Event on events:
//	POST /click?placement=P&ad=A      202 {"id":...}, an Event on events:
//
// Requests never touch Redis: a loader polls tempest:pushed every poll
// and, when it changes, loads the cycle's placements and slates and swaps
// them in whole, so a request sees one cycle, never a mix. While Redis is
// down web answers from the last cycle it loaded, saying so in the header
// X-Tempest-Stale; before it has loaded one it answers 503 with
// Retry-After, unless snapshot names the file where the workers keep the
// last cycle they loaded: a worker started while Redis is down (or empty)
// serves that one. Every error is JSON, {"error": "..."}, and a 4xx says what
// was wrong and how to fix it.
type Web struct {
	toil.Base[WebConfig]

	HTTP   toil.HTTP              // config under http:
	Redis  redis.Client           // config under redis:
	Events queue.Publisher[Event] // config under events:, topic tempest.events

	snap  atomic.Pointer[webSnapshot] // the cycle being served; nil until the first load
	stale atomic.Pointer[time.Time]   // when Redis stopped answering; nil while it answers

	loads     *prometheus.CounterVec // by result
	published *prometheus.CounterVec // by kind and result
}

// webSnapshot is one pushed cycle, as web serves it.
type webSnapshot struct {
	pushed     string // tempest:pushed as read, to tell when it changes
	cycle      int64
	list       []Placement
	placements []byte // the /placements answer, encoded once
	slates     map[string]Slate
}

// webSaved is a snapshot as the snapshot file holds it.
type webSaved struct {
	Pushed     string      `json:"pushed"`
	Cycle      int64       `json:"cycle"`
	Placements []Placement `json:"placements"`
	Slates     []Slate     `json:"slates"`
}

// webNewSnapshot assembles a snapshot, encoding its /placements answer.
func webNewSnapshot(pushed string, cycle int64, placements []Placement, slates map[string]Slate) (*webSnapshot, error) {
	snap := &webSnapshot{pushed: pushed, cycle: cycle, list: placements, slates: slates}
	var err error
	snap.placements, err = webMarshal(PlacementsResponse{Cycle: cycle, Placements: placements})
	if err != nil {
		return nil, fmt.Errorf("encode the placements: %w", err)
	}
	return snap, nil
}

// webSave writes snap to path, whole or not at all (a temp file renamed
// over it), so another worker reading it never sees half a file.
func webSave(path string, snap *webSnapshot) error {
	saved := webSaved{Pushed: snap.pushed, Cycle: snap.cycle, Placements: snap.list}
	for _, p := range snap.list {
		saved.Slates = append(saved.Slates, snap.slates[p.ID])
	}
	data, err := json.Marshal(saved)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".slates-*")
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		_ = os.Remove(f.Name())
	}
	return err
}

// webRestore reads a snapshot webSave wrote.
func webRestore(path string) (*webSnapshot, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var saved webSaved
	if err := json.Unmarshal(data, &saved); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	slates := make(map[string]Slate, len(saved.Slates))
	for _, sl := range saved.Slates {
		slates[sl.Placement] = sl
	}
	return webNewSnapshot(saved.Pushed, saved.Cycle, saved.Placements, slates)
}

// Query limits.
const (
	webMaxQuery = 1 << 10 // longest raw query accepted: longer is a client bug or an attack
	webDefaultN = 3
	webMaxN     = 10
)

// Setup registers the routes and loads the last pushed cycle, if Redis
// has one, so the first request is served from it rather than answered 503.
func (s *Web) Setup(ctx context.Context) error {
	s.loads = s.Stats.CounterVec("tempest_web_loads_total",
		"Checks of tempest:pushed and loads of a cycle, by result (loaded, unchanged, moved: a newer cycle landed mid-load, redis_down, error).", "result")
	s.published = s.Stats.CounterVec("tempest_web_events_total",
		"Impressions and clicks web published, by kind and result (published, error).", "kind", "result")

	s.HTTP.HandleFunc("/placements", s.webGuard(s.placements, http.MethodGet, http.MethodHead))
	s.HTTP.HandleFunc("/ads", s.webGuard(s.ads, http.MethodGet, http.MethodHead))
	s.HTTP.HandleFunc("/impression", s.webGuard(s.event(EventImpression), http.MethodPost))
	s.HTTP.HandleFunc("/click", s.webGuard(s.event(EventClick), http.MethodPost))
	s.HTTP.HandleFunc("/", s.notFound)

	var st webPollState
	s.poll(ctx, &st)
	if path := s.Config().Snapshot; path != "" && s.snap.Load() == nil {
		// Redis is down or has no cycle (restarted empty): the last cycle
		// a worker saved beats answering 503 until the next one.
		snap, err := webRestore(path)
		switch {
		case err == nil:
			s.snap.Store(snap)
			s.Log.Warn("serving the last cycle saved, until Redis has one", "file", path, "cycle", snap.cycle)
		case !errors.Is(err, fs.ErrNotExist):
			s.Log.Warn("no saved cycle to serve", "file", path, "err", err)
		}
	}
	return nil
}

// Run is the loader: it checks tempest:pushed every poll until the
// service stops.
func (s *Web) Run(ctx context.Context) error {
	var st webPollState
	for {
		t := time.NewTimer(s.Config().Poll)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
		s.poll(ctx, &st)
	}
}

// webPollState is what the loader remembers between polls, to log a
// problem when it starts and when it ends rather than every poll.
type webPollState struct {
	lastErr string
}

// poll checks tempest:pushed once and loads the cycle if it changed.
func (s *Web) poll(ctx context.Context, st *webPollState) {
	ctx, cancel := context.WithTimeout(ctx, s.Config().LoadTimeout)
	defer cancel()
	pushed, err := s.Redis.Get(ctx, KeyPushed).Result()
	switch {
	case errors.Is(err, redis.Nil):
		// Nothing pushed yet, or Redis restarted empty: the last cycle
		// loaded, if any, is still the best there is.
		s.redisUp(st)
		s.loads.WithLabelValues("unchanged").Inc()
		return
	case err != nil:
		if ctx.Err() != nil && errors.Is(context.Cause(ctx), context.Canceled) {
			return // stopping
		}
		s.redisDown(st, err)
		s.loads.WithLabelValues("redis_down").Inc()
		return
	}
	s.redisUp(st)
	if cur := s.snap.Load(); cur != nil && cur.pushed == pushed {
		s.loads.WithLabelValues("unchanged").Inc()
		return
	}
	snap, err := webLoad(ctx, s.Redis.Client)
	if errors.Is(err, errWebMoved) {
		s.loads.WithLabelValues("moved").Inc()
		return // not a problem: the next poll loads the newer cycle
	}
	if err != nil {
		s.loads.WithLabelValues("error").Inc()
		s.logProblem(st, "load the pushed slates; serving the last cycle loaded until the next poll", err)
		return
	}
	s.snap.Store(snap)
	s.loads.WithLabelValues("loaded").Inc()
	s.Log.Info("serving a new cycle", "cycle", snap.cycle, "placements", len(snap.slates))
	// Every worker loads the same cycle; one writing it is enough.
	if path := s.Config().Snapshot; path != "" && s.Worker() == 1 {
		if err := webSave(path, snap); err != nil {
			s.logProblem(st, "save the cycle for a restart while Redis is down", err)
		}
	}
}

func (s *Web) redisUp(st *webPollState) {
	if s.stale.Swap(nil) != nil {
		s.Log.Info("redis answers again; serving fresh slates")
	}
	st.lastErr = ""
}

func (s *Web) redisDown(st *webPollState, err error) {
	now := time.Now()
	if s.stale.CompareAndSwap(nil, &now) {
		s.Log.Warn("redis unavailable; serving the last cycle loaded, marked X-Tempest-Stale", "err", err)
	}
	st.lastErr = err.Error()
}

// logProblem logs err when it differs from the last one, so a lasting
// problem is one line, not one per poll.
func (s *Web) logProblem(st *webPollState, what string, err error) {
	if err.Error() != st.lastErr {
		s.Log.Error(what, "err", err)
	}
	st.lastErr = err.Error()
}

// errWebMoved is a cycle pushed while web was loading the previous one.
var errWebMoved = errors.New("a newer cycle was pushed during the load; the next poll loads it")

// webLoad reads the pushed cycle: its placements, then tempest:pushed,
// the placements again and every slate in one MGET, so the slates are of
// the cycle the placements are (the pusher writes them all in one
// script).
func webLoad(ctx context.Context, rdb goredis.Cmdable) (*webSnapshot, error) {
	raw, err := rdb.Get(ctx, KeyPlacements).Result()
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", KeyPlacements, err)
	}
	var placements []Placement
	if err := json.Unmarshal([]byte(raw), &placements); err != nil {
		return nil, fmt.Errorf("read %s: %w", KeyPlacements, err)
	}
	keys := make([]string, 0, len(placements)+2)
	keys = append(keys, KeyPushed, KeyPlacements)
	for _, p := range placements {
		keys = append(keys, KeySlate(p.ID))
	}
	vals, err := rdb.MGet(ctx, keys...).Result()
	if err != nil {
		return nil, fmt.Errorf("MGET the slates: %w", err)
	}
	pushed, _ := vals[0].(string)
	if again, _ := vals[1].(string); again != raw {
		return nil, errWebMoved
	}
	cycle, err := strconv.ParseInt(pushed, 10, 64)
	if err != nil {
		return nil, fmt.Errorf("read %s %q: want a cycle number", KeyPushed, pushed)
	}
	slates := make(map[string]Slate, len(placements))
	for i, p := range placements {
		sl, err := webSlate(p.ID, vals[i+2])
		if err != nil {
			return nil, err
		}
		if sl.Cycle == 0 {
			sl.Cycle = cycle
		}
		slates[p.ID] = sl
	}
	return webNewSnapshot(pushed, cycle, placements, slates)
}

// webSlate decodes one MGET value; a placement without a slate key shows
// no ads rather than failing the whole cycle.
func webSlate(placement string, v any) (Slate, error) {
	s, ok := v.(string)
	if !ok {
		return Slate{Placement: placement, Ads: []ScoredAd{}}, nil
	}
	var sl Slate
	if err := json.Unmarshal([]byte(s), &sl); err != nil {
		return Slate{}, fmt.Errorf("read %s: %w", KeySlate(placement), err)
	}
	return sl, nil
}

// ReadSlate reads a placement's slate as the pusher wrote it. A placement
// without one returns an error wrapping redis.Nil.
func ReadSlate(ctx context.Context, rdb goredis.Cmdable, placement string) (Slate, error) {
	raw, err := rdb.Get(ctx, KeySlate(placement)).Result()
	if err != nil {
		return Slate{}, fmt.Errorf("GET %s: %w", KeySlate(placement), err)
	}
	var sl Slate
	if err := json.Unmarshal([]byte(raw), &sl); err != nil {
		return Slate{}, fmt.Errorf("read %s: %w", KeySlate(placement), err)
	}
	return sl, nil
}

// PlacementsResponse is the answer to GET /placements.
type PlacementsResponse struct {
	Cycle      int64       `json:"cycle"`
	Placements []Placement `json:"placements"`
}

// AdsResponse is the answer to GET /ads: the first n ads of the
// placement's slate, best first.
type AdsResponse struct {
	Placement string     `json:"placement"`
	Cycle     int64      `json:"cycle"`
	Ads       []ServedAd `json:"ads"`
}

// ServedAd is an ad as GET /ads shows it.
type ServedAd struct {
	ID       string  `json:"id"`
	Campaign string  `json:"campaign"`
	URL      string  `json:"url"`
	Text     string  `json:"text"`
	Width    int     `json:"width"`
	Height   int     `json:"height"`
	Score    float64 `json:"score"`
}

// EventResponse is the answer to POST /impression and POST /click: the
// ID of the event published.
type EventResponse struct {
	ID string `json:"id"`
}

// ErrorResponse is the body of every error web answers.
type ErrorResponse struct {
	Error string `json:"error"`
}

// webGuard checks what every endpoint checks before its handler runs: the
// method and the query's length.
func (s *Web) webGuard(next http.HandlerFunc, methods ...string) http.HandlerFunc {
	allow := methods[0]
	for _, m := range methods[1:] {
		allow += ", " + m
	}
	return func(w http.ResponseWriter, r *http.Request) {
		if len(r.URL.RawQuery) > webMaxQuery {
			webError(w, http.StatusRequestURITooLong, fmt.Sprintf("the query is %d bytes, over the limit of %d: send only the parameters the endpoint takes", len(r.URL.RawQuery), webMaxQuery))
			return
		}
		for _, m := range methods {
			if r.Method == m {
				next(w, r)
				return
			}
		}
		w.Header().Set("Allow", allow)
		webError(w, http.StatusMethodNotAllowed, fmt.Sprintf("%s %s is not allowed: use %s", r.Method, webShort(r.URL.Path), allow))
	}
}

func (s *Web) notFound(w http.ResponseWriter, r *http.Request) {
	webError(w, http.StatusNotFound, fmt.Sprintf("no endpoint %s; web serves GET /placements, GET /ads?placement=ID&n=3, POST /impression?placement=P&ad=A and POST /click?placement=P&ad=A", webShort(r.URL.Path)))
}

// serving returns the cycle to serve, or answers 503 when there is none
// yet. While Redis is down it marks the answer stale.
func (s *Web) serving(w http.ResponseWriter) *webSnapshot {
	snap := s.snap.Load()
	if snap == nil {
		w.Header().Set("Retry-After", "1")
		why := "no slates loaded yet: the pipeline has not pushed a cycle; retry shortly"
		if s.stale.Load() != nil {
			why = "no slates loaded yet and redis is unavailable; retry shortly"
		}
		webError(w, http.StatusServiceUnavailable, why)
		return nil
	}
	if since := s.stale.Load(); since != nil {
		w.Header().Set("X-Tempest-Stale", "redis unavailable since "+since.UTC().Format(time.RFC3339))
	}
	return snap
}

func (s *Web) placements(w http.ResponseWriter, r *http.Request) {
	snap := s.serving(w)
	if snap == nil {
		return
	}
	webWrite(w, http.StatusOK, snap.placements)
}

func (s *Web) ads(w http.ResponseWriter, r *http.Request) {
	q, ok := webQuery(w, r)
	if !ok {
		return
	}
	placement, ok := webParam(w, q, "placement", "/ads?placement=ID&n=3")
	if !ok {
		return
	}
	n, ok := webN(w, q)
	if !ok {
		return
	}
	snap := s.serving(w)
	if snap == nil {
		return
	}
	sl, ok := webFind(w, snap, placement)
	if !ok {
		return
	}
	resp := AdsResponse{Placement: placement, Cycle: sl.Cycle, Ads: make([]ServedAd, 0, min(n, len(sl.Ads)))}
	for _, a := range sl.Ads[:min(n, len(sl.Ads))] {
		resp.Ads = append(resp.Ads, ServedAd{ID: a.Ad, Campaign: a.Campaign, URL: a.URL, Text: a.Text, Width: a.Width, Height: a.Height, Score: a.Score})
	}
	webJSON(w, http.StatusOK, resp)
}

// event returns the handler of POST /impression or POST /click.
func (s *Web) event(kind string) http.HandlerFunc {
	usage := "/" + kind + "?placement=P&ad=A"
	return func(w http.ResponseWriter, r *http.Request) {
		q, ok := webQuery(w, r)
		if !ok {
			return
		}
		placement, ok := webParam(w, q, "placement", usage)
		if !ok {
			return
		}
		adID, ok := webParam(w, q, "ad", usage)
		if !ok {
			return
		}
		snap := s.serving(w)
		if snap == nil {
			return
		}
		sl, ok := webFind(w, snap, placement)
		if !ok {
			return
		}
		ad, ok := webAdIn(sl, adID)
		if !ok {
			webError(w, http.StatusNotFound, fmt.Sprintf("ad %q is not in placement %q's slate (cycle %d): report only ads GET /ads served", adID, placement, sl.Cycle))
			return
		}
		e := Event{ID: webEventID(), Kind: kind, Placement: placement, Ad: ad.Ad, Campaign: ad.Campaign, At: time.Now().UTC()}
		if kind == EventImpression {
			e.PriceMicros = ad.BidMicros / 1000 // the bid is per 1000 impressions
		}
		ctx, cancel := context.WithTimeout(r.Context(), s.Config().PublishTimeout)
		defer cancel()
		if err := s.Events.Publish(ctx, e); err != nil {
			s.published.WithLabelValues(kind, "error").Inc()
			s.Log.Error("publish event", "kind", kind, "placement", placement, "ad", adID, "err", err)
			w.Header().Set("Retry-After", "1")
			webError(w, http.StatusServiceUnavailable, "the event could not be recorded (the queue is unavailable); retry shortly")
			return
		}
		s.published.WithLabelValues(kind, "published").Inc()
		webJSON(w, http.StatusAccepted, EventResponse{ID: e.ID})
	}
}

// webQuery parses the query strictly: a malformed escape is the client's
// mistake, worth telling rather than guessing around.
func webQuery(w http.ResponseWriter, r *http.Request) (url.Values, bool) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		webError(w, http.StatusBadRequest, fmt.Sprintf("the query does not parse (%v): escape it as a URL query", err))
		return nil, false
	}
	return q, true
}

// webParam returns the required parameter name, or answers 400.
func webParam(w http.ResponseWriter, q url.Values, name, usage string) (string, bool) {
	v := q.Get(name)
	if v == "" {
		webError(w, http.StatusBadRequest, fmt.Sprintf("missing %s: ask %s", name, usage))
		return "", false
	}
	return v, true
}

// webN reads n, the number of ads wanted: 1..10, 3 when absent.
func webN(w http.ResponseWriter, q url.Values) (int, bool) {
	if !q.Has("n") {
		return webDefaultN, true
	}
	raw := q.Get("n")
	n, err := strconv.Atoi(raw)
	if err != nil || n < 1 || n > webMaxN {
		webError(w, http.StatusBadRequest, fmt.Sprintf("n is %q: want a whole number from 1 to %d, e.g. n=3", raw, webMaxN))
		return 0, false
	}
	return n, true
}

// webFind returns the placement's slate, or answers 404.
func webFind(w http.ResponseWriter, snap *webSnapshot, placement string) (Slate, bool) {
	sl, ok := snap.slates[placement]
	if !ok {
		webError(w, http.StatusNotFound, fmt.Sprintf("unknown placement %q (cycle %d): GET /placements lists them", placement, snap.cycle))
	}
	return sl, ok
}

func webAdIn(sl Slate, id string) (ScoredAd, bool) {
	for _, a := range sl.Ads {
		if a.Ad == id {
			return a, true
		}
	}
	return ScoredAd{}, false
}

// webEventID is a random 128-bit ID in hex: unique without coordination
// between web's workers.
func webEventID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails: crypto/rand crashes the program rather than return an error
	return hex.EncodeToString(b[:])
}

// webShort is s for an error message, cut to 100 bytes: an error echoes
// what the client sent, but never a 9 KB path back at it.
func webShort(s string) string {
	const most = 100
	if len(s) <= most {
		return s
	}
	return strings.ToValidUTF8(s[:most], "") + "..."
}

// webMarshal encodes v as JSON without escaping <, > and &: the answers are
// JSON for programs, never inlined into HTML, and ad URLs carry queries.
func webMarshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

func webJSON(w http.ResponseWriter, code int, v any) {
	body, err := webMarshal(v)
	if err != nil {
		// Only web's own response types get here, and they always encode.
		code, body = http.StatusServiceUnavailable, []byte(`{"error":"the answer could not be encoded"}`)
	}
	webWrite(w, code, body)
}

func webError(w http.ResponseWriter, code int, msg string) {
	webJSON(w, code, ErrorResponse{Error: msg})
}

func webWrite(w http.ResponseWriter, code int, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)+1))
	w.WriteHeader(code)
	_, _ = w.Write(body)
	_, _ = w.Write([]byte{'\n'})
}
