package tempest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/url"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/toilhq/toil"
	"github.com/toilhq/toil/queue"
	"github.com/toilhq/toil/redis"
)

// AllConfig is tempest.all's config, under tempest.all. The stages' own
// settings stay in their sections of the stages file, keyed by their names
// in toil.yaml (inventory, warmer, ...), as under toil dev.
type AllConfig struct {
	// Stages is the config file holding the stages' sections (inventory,
	// warmer, ... as toil.yaml names them), relative to the working
	// directory. When it is the default and missing, the stages run on
	// their defaults.
	Stages string `default:"toil.config.yaml" help:"config file with the stages' sections (inventory, warmer, ...)"`
	// Queues is where the stages' queues are; empty means a bus inside
	// this process. Its env tag lets toil dev's NATS_URL pick it.
	Queues string `env:"NATS_URL" help:"the stages' queues: mem://NAME, nats://HOST:4222 or redis://HOST:6379/0 (default: NATS_URL, else in this process)"`
	// Redis is the Redis every stage uses, unless its section says
	// otherwise.
	Redis string `env:"REDIS_URL" secret:"true" help:"the stages' Redis (default: REDIS_URL, else redis://127.0.0.1:6379/0)"`
	// InventoryAddr and WebAddr are where the two HTTP stages listen; the
	// warmer is pointed at the inventory wherever it ends up.
	InventoryAddr string `koanf:"inventory_addr" default:"127.0.0.1:8090" help:"address the inventory listens on (port 0: any free port)"`
	WebAddr       string `koanf:"web_addr" default:"127.0.0.1:8081" help:"address web serves ads on (port 0: any free port)"`
}

// Validate checks the config; toil calls it on every load.
func (c *AllConfig) Validate() error {
	var errs []error
	if c.Queues != "" {
		if _, err := allQueueBackend(c.Queues); err != nil {
			errs = append(errs, err)
		}
	}
	if c.Redis != "" {
		if _, err := goredis.ParseURL(c.Redis); err != nil {
			errs = append(errs, fmt.Errorf("redis %s: %w; want redis://HOST:6379/0", allRedact(c.Redis), err))
		}
	}
	for _, a := range []struct{ key, v string }{{"inventory_addr", c.InventoryAddr}, {"web_addr", c.WebAddr}} {
		if a.v == "" {
			errs = append(errs, fmt.Errorf("%s is empty: give a host:port such as 127.0.0.1:8090, or port 0 for any free one", a.key))
		}
	}
	return errors.Join(errs...)
}

// allQueueBackend names the queue backend of url, one of those the stages'
// queue fields take.
func allQueueBackend(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("queues %s: %w", allRedact(raw), err)
	}
	switch u.Scheme {
	case "mem", "nats", "redis", "kafka":
		return u.Scheme, nil
	}
	return "", fmt.Errorf("queues %s: the scheme %q is not one of mem, nats, redis, kafka", allRedact(raw), u.Scheme)
}

// allRedact hides a URL's password, for errors and logs.
func allRedact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(an unparsable URL)"
	}
	return u.Redacted()
}

// All is tempest.all: the whole pipeline in one process, the talk's
// do_all_of_it, for tests and tiny deployments. It runs the same stage
// types as the layout in toil.yaml, each with toil.Run as its own service
// under its name in toil.yaml (its own config section, metrics and admin
// endpoint), on one bus in this
// process by default or on the queues it is given (NATS_URL under toil
// dev), with every stage's state in one Redis.
//
// Setup starts the inventory, points the warmer at it, starts the other
// stages and returns once every one is ready; if any stage stops, All
// stops the rest and fails, since a pipeline missing a stage serves
// nothing new.
type All struct {
	toil.Base[AllConfig]

	// StageLog is where the stages log, one line per record as a worker
	// logs; nil means stderr. Tests point it at their own buffer.
	StageLog io.Writer

	mu       sync.Mutex
	stages   map[string]*allRun // by service name, once started
	cancel   context.CancelFunc // stops every stage
	exits    []allExit          // the stages that returned, in order
	exited   chan struct{}      // closed when the first stage returns
	exitOnce sync.Once
	wg       sync.WaitGroup // the stages' goroutines
	bus      string         // the in-process bus, when All made one
	inv      *Inventory
	web      *Web
}

// allRun is one stage running under All.
type allRun struct {
	name string
	ctl  *toil.Control
}

// allExit is a stage that returned, and why.
type allExit struct {
	name string
	err  error
}

// allBuses numbers the in-process buses, so two All in one process (tests)
// never share one.
var allBuses atomic.Int64

// allStage is a stage as All runs it: its service, its queue fields'
// topics and its own flags.
type allStage struct {
	name   string
	svc    any
	queues map[string]string // field key → topic
	args   []string
}

// Setup checks the stages file and Redis, then starts every stage and
// waits until each is ready.
func (a *All) Setup(ctx context.Context) error {
	cfg := a.Config()
	stagesFile, err := allStagesFile(cfg.Stages)
	if err != nil {
		return err
	}
	redisURL := cfg.Redis
	if redisURL == "" {
		redisURL = redis.DefaultURL
	}
	if err := allPingRedis(ctx, redisURL); err != nil {
		return err
	}
	queues := cfg.Queues
	if queues == "" {
		a.bus = fmt.Sprintf("tempest.all.%d", allBuses.Add(1))
		queues = "mem://" + a.bus
	}
	backend, err := allQueueBackend(queues)
	if err != nil {
		return err
	}

	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	a.mu.Lock()
	a.stages = map[string]*allRun{}
	a.cancel = cancel
	a.exited = make(chan struct{})
	a.mu.Unlock()
	start := func(st allStage) *allRun {
		opts := []toil.Option{
			toil.WithEnv("REDIS_URL=" + redisURL),
			toil.WithConfigFile(stagesFile),
			toil.WithArgs(append(allQueueArgs(st.queues, backend, queues), st.args...)...),
			toil.WithAdminAddr("127.0.0.1:0"),
		}
		if a.StageLog != nil {
			opts = append(opts, toil.WithLogOutput(a.StageLog))
		}
		return a.run(runCtx, st, opts)
	}

	// The inventory first: the warmer plans a cycle as soon as it runs,
	// and needs the inventory's address.
	a.inv, a.web = &Inventory{}, &Web{}
	inv := start(allStage{name: "inventory", svc: a.inv, args: []string{"--http.addr=" + cfg.InventoryAddr}})
	if err := a.waitReady(ctx, inv); err != nil {
		return a.abort(err)
	}
	var runs []*allRun
	for _, st := range allStages("http://"+a.inv.HTTP.Addr(), a.web, cfg.WebAddr) {
		runs = append(runs, start(st))
	}
	for _, r := range runs {
		if err := a.waitReady(ctx, r); err != nil {
			return a.abort(err)
		}
	}
	a.Log.InfoContext(ctx, "tempest is serving ads",
		"web", "http://"+a.web.HTTP.Addr(), "inventory", "http://"+a.inv.HTTP.Addr(),
		"queues", allRedact(queues), "redis", allRedact(redisURL))
	return nil
}

// allStages are the stages after the inventory, each with its queue
// fields' topics, as toil.config.yaml names them.
func allStages(inventoryURL string, web *Web, webAddr string) []allStage {
	return []allStage{
		{name: "warmer", svc: &Warmer{},
			queues: map[string]string{"jobs": TopicPages, "plan": TopicPages, "out": TopicBatches},
			args:   []string{"--inventory=" + inventoryURL}},
		{name: "prefilter", svc: &Prefilter{},
			queues: map[string]string{"in": TopicBatches, "out": TopicCandidates}},
		{name: "scorer", svc: &Scorer{},
			queues: map[string]string{"in": TopicCandidates, "out": TopicScored}},
		{name: "postfilter", svc: &Postfilter{},
			queues: map[string]string{"in": TopicScored, "out": TopicSlates}},
		{name: "pusher", svc: &Pusher{},
			queues: map[string]string{"in": TopicSlates}},
		{name: "web", svc: web,
			queues: map[string]string{"events": TopicEvents},
			args:   []string{"--http.addr=" + webAddr}},
		{name: "stats", svc: &Stats{},
			queues: map[string]string{"in": TopicEvents}},
	}
}

// run starts one stage in a goroutine All owns.
func (a *All) run(ctx context.Context, st allStage, opts []toil.Option) *allRun {
	r := &allRun{name: st.name, ctl: toil.NewControl()}
	a.mu.Lock()
	a.stages[st.name] = r
	a.mu.Unlock()
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		err := toil.Run(ctx, st.name, st.svc, append(opts, toil.WithControl(r.ctl))...)
		a.mu.Lock()
		a.exits = append(a.exits, allExit{name: st.name, err: err})
		a.mu.Unlock()
		a.exitOnce.Do(func() { close(a.exited) })
	}()
	return r
}

// waitReady waits until the stage r is ready, or says why it never was.
func (a *All) waitReady(ctx context.Context, r *allRun) error {
	select {
	case <-r.ctl.Ready():
		a.Log.DebugContext(ctx, "stage ready", "stage", r.name, "admin", r.ctl.AdminAddr())
		return nil
	case <-r.ctl.Done():
		if err := r.ctl.Err(); err != nil {
			return fmt.Errorf("start %s: %w", r.name, err)
		}
		return fmt.Errorf("start %s: it returned before it was ready", r.name)
	case <-ctx.Done():
		return fmt.Errorf("start %s: not ready before the setup timeout: %w", r.name, context.Cause(ctx))
	}
}

// abort stops the stages started so far and returns err.
func (a *All) abort(err error) error {
	a.stopStages()
	return err
}

// Run waits until the service stops or a stage returns; either way it
// stops every stage and waits for them.
func (a *All) Run(ctx context.Context) error {
	var err error
	select {
	case <-ctx.Done():
	case <-a.exited:
		a.mu.Lock()
		first := a.exits[0]
		a.mu.Unlock()
		err = fmt.Errorf("stage %s stopped, so the pipeline cannot run", first.name)
		if first.err != nil {
			err = fmt.Errorf("stage %s stopped, so the pipeline cannot run: %w", first.name, first.err)
		}
	}
	if stopErr := a.stopStages(); err == nil {
		err = stopErr
	}
	return err
}

// Stop stops the stages if Run did not (a failed setup of another part).
func (a *All) Stop(ctx context.Context) error {
	return a.stopStages()
}

// stopStages stops every stage gracefully, waits for them and drops the
// in-process bus. It returns the first stage error; stopping twice
// returns nil.
func (a *All) stopStages() error {
	a.mu.Lock()
	cancel := a.cancel
	a.cancel = nil
	a.mu.Unlock()
	if cancel == nil {
		return nil
	}
	cancel()
	a.wg.Wait()
	var errs []error
	a.mu.Lock()
	for _, ex := range a.exits {
		if ex.err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", ex.name, ex.err))
		}
	}
	a.mu.Unlock()
	if a.bus != "" {
		queue.CloseMem(a.bus)
	}
	return errors.Join(errs...)
}

// WebAddr is the host:port web serves on, once Setup is done.
func (a *All) WebAddr() string { return a.web.HTTP.Addr() }

// InventoryAddr is the host:port the inventory serves on, once Setup is
// done.
func (a *All) InventoryAddr() string { return a.inv.HTTP.Addr() }

// AdminAddr is the host:port of a stage's admin endpoint (/metrics,
// /healthz, ...), by its name in toil.yaml ("prefilter"), or "" for a
// stage not started.
func (a *All) AdminAddr(service string) string {
	a.mu.Lock()
	r := a.stages[service]
	a.mu.Unlock()
	if r == nil {
		return ""
	}
	return r.ctl.AdminAddr()
}

// allQueueArgs are the flags that put a stage's queue fields on one
// backend: backend, url and topic for each, in key order.
func allQueueArgs(queues map[string]string, backend, rawURL string) []string {
	var args []string
	for _, key := range slices.Sorted(maps.Keys(queues)) {
		args = append(args, "--"+key+".backend="+backend, "--"+key+".url="+rawURL, "--"+key+".topic="+queues[key])
	}
	return args
}

// allStagesFile returns the stages' config file to read, "" for none.
func allStagesFile(path string) (string, error) {
	if path == "" {
		return "", nil
	}
	_, err := os.Stat(path)
	switch {
	case err == nil:
		return path, nil
	case errors.Is(err, os.ErrNotExist) && path == "toil.config.yaml":
		// Run outside tempest/: every stage has defaults, and All sets
		// the queues.
		return "", nil
	}
	return "", fmt.Errorf("stages file %s: %w; set tempest.all's stages to the toil.config.yaml holding the stages' sections, or to \"\" to run them on their defaults", path, err)
}

// allPingRedis checks that Redis answers, retrying for a few seconds (it
// may be starting beside us), so a missing server is one clear error
// rather than eight stages timing out. It dials first: go-redis would log
// every failed dial to stderr on its own.
func allPingRedis(ctx context.Context, raw string) error {
	opts, err := goredis.ParseURL(raw)
	if err != nil {
		return fmt.Errorf("redis %s: %w", allRedact(raw), err)
	}
	var d net.Dialer
	err = toil.Retry(ctx, 3*time.Second, func(ctx context.Context) error {
		conn, err := d.DialContext(ctx, opts.Network, opts.Addr)
		if err != nil {
			return err
		}
		return conn.Close()
	}, nil)
	if err == nil {
		rdb := goredis.NewClient(opts)
		defer rdb.Close()
		err = rdb.Ping(ctx).Err()
	}
	if err != nil {
		return fmt.Errorf("tempest.all needs Redis and none answers at %s: %w; start one (redis-server) or set REDIS_URL", allRedact(raw), err)
	}
	return nil
}
