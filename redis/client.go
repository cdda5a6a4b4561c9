package redis

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/toilhq/toil"
)

// Nil is the error a command returns for a key that does not exist
// (errors.Is(err, redis.Nil)), so services need not import go-redis for it.
const Nil = goredis.Nil

// DefaultURL is where the mixin connects when neither the config's url nor
// REDIS_URL says otherwise: a redis-server on the same machine.
const DefaultURL = "redis://127.0.0.1:6379/0"

// Client is the Redis mixin: a named field of a struct service whose
// go-redis client is connected before the service's Setup.
//
//	type Pusher struct {
//		toil.Base[Config]
//
//		Redis redis.Client // config under redis:
//	}
//
//	func (p *Pusher) push(ctx context.Context, id string, ad []byte) error {
//		return p.Redis.Set(ctx, "ad:"+id, ad, time.Hour).Err()
//	}
//
// Every go-redis command is a method of Client, through the embedded
// *goredis.Client; the field Client is that client, for code that wants it
// as such. It is nil until the mixin's pre-setup has connected, so use it
// from Setup on.
//
// Where: the config's url, else REDIS_URL (the worker protocol's
// variable), else [DefaultURL]. Pre-setup pings the server, retrying with
// backoff for connect_timeout (at most until shortly before the setup
// timeout ends); a server that never answers fails the start with an error
// that names the URL, its password hidden.
//
// Once running, go-redis reconnects by itself after an outage; /readyz
// reports the worker not ready while PING fails (name Redis.ping for a
// field Redis), and ready again once it answers.
//
// With optional: true, for a service that keeps working without Redis
// (serving what it already holds), the start tries the server once and goes
// on without it, and /readyz leaves Redis out: a Redis outage then never
// takes the service out of a load balancer. Its commands fail until the
// server answers.
//
// Metrics, labelled client=<the field's config key>:
// redis_command_duration_seconds{client,command,result} (result: ok, nil,
// error; a pipeline counts as command "pipeline"),
// redis_dials_total{client,result}, and the pool's state
// (redis_pool_connections{client,state} for idle and in use,
// redis_pool_hits_total, redis_pool_misses_total, redis_pool_timeouts_total,
// redis_pool_stale_connections_total, redis_pool_wait_seconds_total).
//
// With switches.enabled the service's feature switches (toil.Switches, the
// service's s.Switch) are fed from a Redis hash and follow its changes
// live; see [SwitchStore] for the format.
type Client struct {
	*goredis.Client

	env         *toil.MixinEnv
	cfg         *Config
	shown       string // the URL with its password hidden, for errors and logs
	pingTimeout atomic.Int64
	store       *SwitchStore
	switchErr   func(error)
}

// Config is a [Client] field's config, under the field's key (redis: for a
// field Redis).
type Config struct {
	// URL is redis://[user:password@]host:port/db, rediss:// for TLS, or
	// unix:///path/to/redis.sock?db=N. It is secret because it may carry
	// a password: toil never logs it, and the mixin's errors hide the
	// password.
	URL string `env:"REDIS_URL" secret:"true" help:"redis://[user:password@]host:port/db (rediss:// for TLS, unix:///path.sock?db=N); default REDIS_URL, else redis://127.0.0.1:6379/0"`
	// PoolSize is how many connections the client keeps open at most;
	// 0 is go-redis's default, 10 per CPU.
	PoolSize int `koanf:"pool_size" help:"most connections open at once (0: 10 per CPU)"`
	// MinIdleConns keeps this many idle connections ready.
	MinIdleConns int `koanf:"min_idle_conns" help:"idle connections kept open"`
	// MaxRetries is how many times a command that failed on a network
	// error is retried; 0 retries none.
	MaxRetries     int           `koanf:"max_retries" default:"3" help:"retries of a command that failed on a network error (0: none)"`
	DialTimeout    time.Duration `koanf:"dial_timeout" default:"5s" help:"time to open a connection"`
	ReadTimeout    time.Duration `koanf:"read_timeout" default:"3s" help:"time to read a reply; a context deadline, if sooner, wins"`
	WriteTimeout   time.Duration `koanf:"write_timeout" default:"3s" help:"time to write a command; a context deadline, if sooner, wins"`
	PoolTimeout    time.Duration `koanf:"pool_timeout" help:"time to wait for a free connection when all are busy (0: read_timeout + 1s)"`
	ConnectTimeout time.Duration `koanf:"connect_timeout" default:"10s" help:"how long the start keeps trying to reach the server (bounded by the setup timeout)"`
	PingTimeout    time.Duration `koanf:"ping_timeout" default:"1s" help:"time the /readyz PING may take before the worker is reported not ready"`
	// Optional is for a service that keeps working while Redis is down
	// (tempest's web serves its last snapshot): the start does not wait
	// for the server and /readyz does not depend on it. Its commands fail
	// until the server answers.
	Optional bool `help:"start and stay ready without the server: the start does not wait for it and /readyz leaves it out (commands fail until it answers)"`

	Switches SwitchesConfig
}

// SwitchesConfig turns on the Redis-backed feature switches; see
// [SwitchStore].
type SwitchesConfig struct {
	// Enabled feeds the service's switches from the hash Key.
	Enabled bool `help:"feed the service's feature switches from a Redis hash, live"`
	// Key is the hash; it is also the channel a writer publishes on to
	// tell services that the hash changed.
	Key string `default:"toil:switches" help:"the hash holding the switches, also the channel to PUBLISH on after a change"`
	// Resync is how often the hash is re-read even without a message, in
	// case one was lost.
	Resync time.Duration `default:"30s" help:"re-read the hash this often even without a change message"`
}

// Validate checks the config; toil calls it on every load.
func (c *Config) Validate() error {
	var errs []error
	if c.URL != "" {
		if _, err := parseURL(c.URL); err != nil {
			errs = append(errs, err)
		}
	}
	for _, d := range []struct {
		key string
		v   time.Duration
	}{
		{"dial_timeout", c.DialTimeout}, {"read_timeout", c.ReadTimeout}, {"write_timeout", c.WriteTimeout},
		{"connect_timeout", c.ConnectTimeout}, {"ping_timeout", c.PingTimeout}, {"switches.resync", c.Switches.Resync},
	} {
		if d.v <= 0 {
			errs = append(errs, fmt.Errorf("%s is %s: want a positive duration, e.g. 5s", d.key, d.v))
		}
	}
	if c.PoolTimeout < 0 {
		errs = append(errs, fmt.Errorf("pool_timeout is %s: want 0 (read_timeout + 1s) or a positive duration", c.PoolTimeout))
	}
	for _, n := range []struct {
		key string
		v   int
	}{{"pool_size", c.PoolSize}, {"min_idle_conns", c.MinIdleConns}, {"max_retries", c.MaxRetries}} {
		if n.v < 0 {
			errs = append(errs, fmt.Errorf("%s is %d: want 0 or more", n.key, n.v))
		}
	}
	if c.Switches.Enabled && strings.TrimSpace(c.Switches.Key) == "" {
		errs = append(errs, errors.New("switches.key is empty: name the hash that holds the switches, e.g. toil:switches"))
	}
	return errors.Join(errs...)
}

// options turns the config into go-redis options for rawURL.
func (c *Config) options(rawURL string) (*goredis.Options, error) {
	opt, err := parseURL(rawURL)
	if err != nil {
		return nil, err
	}
	opt.PoolSize = c.PoolSize
	opt.MinIdleConns = c.MinIdleConns
	opt.MaxRetries = c.MaxRetries
	if c.MaxRetries == 0 {
		opt.MaxRetries = -1 // go-redis reads 0 as its default of 3
	}
	opt.DialTimeout = c.DialTimeout
	opt.ReadTimeout = c.ReadTimeout
	opt.WriteTimeout = c.WriteTimeout
	opt.PoolTimeout = c.PoolTimeout
	// One dial per try: a command's own retries (max_retries) and the
	// start's connect loop already retry, with backoff, and a command
	// during an outage should fail fast rather than dial five times.
	opt.DialerRetries = 1
	// A service bounds its calls with contexts (a request's, a message's);
	// go-redis ignores their deadlines unless told.
	opt.ContextTimeoutEnabled = true
	return opt, nil
}

var (
	_ toil.MixinConfig        = (*Client)(nil)
	_ toil.MixinPreSetup      = (*Client)(nil)
	_ toil.MixinActors        = (*Client)(nil)
	_ toil.MixinStop          = (*Client)(nil)
	_ toil.MixinConfigChanged = (*Client)(nil)
)

// ToilConfig implements toil.MixinConfig.
func (c *Client) ToilConfig() any { return &Config{} }

// ToilPreSetup connects, retrying with backoff, registers the /readyz
// check and the metrics, and, with switches.enabled, loads the switches.
func (c *Client) ToilPreSetup(ctx context.Context, env *toil.MixinEnv) error {
	cfg, ok := env.Config.(*Config)
	if !ok {
		return fmt.Errorf("redis: config is %T, want *redis.Config", env.Config)
	}
	// The url key's env tag has already put REDIS_URL there, unless the
	// service's own variable or a flag overrode it.
	rawURL, from := cfg.URL, env.Section+".url"
	if v, ok := env.LookupEnv("REDIS_URL"); ok && v != "" && v == rawURL {
		from = "REDIS_URL"
	}
	if rawURL == "" {
		rawURL, from = DefaultURL, "the default URL"
	}
	routeLogs(env.Log)
	opt, err := cfg.options(rawURL)
	if err != nil {
		return fmt.Errorf("redis (%s): %w", from, err)
	}
	c.env, c.cfg, c.shown = env, cfg, redact(rawURL)
	c.pingTimeout.Store(int64(cfg.PingTimeout))

	rdb := goredis.NewClient(opt)
	rdb.AddHook(newMetricsHook(env.Stats, env.Section))
	ping := func(ctx context.Context) error { return rdb.Ping(ctx).Err() }
	var missing error // why an optional server did not answer at start
	if cfg.Optional {
		// One try: an optional server is not waited for, but a refusal
		// (a wrong password) is still a config error worth failing on.
		ping = func(ctx context.Context) error {
			err := rdb.Ping(ctx).Err()
			if err != nil && !permanent(err) {
				missing = err
				return nil
			}
			return err
		}
	}
	if err := toil.Retry(ctx, cfg.ConnectTimeout, ping, permanent); err != nil {
		_ = rdb.Close()
		hint := fmt.Sprintf("check that the server runs and that %s points to it", from)
		if permanent(err) {
			hint = fmt.Sprintf("the server refused: check the user, password and database number in %s", from)
		}
		return fmt.Errorf("connect to redis %s (from %s): %w; %s", c.shown, from, err, hint)
	}
	c.Client = rdb
	registerPoolStats(env, rdb)
	if cfg.Optional {
		// The service keeps working without Redis, so Redis being down
		// must not take it out of a load balancer.
		if missing != nil {
			env.Log.Warn("redis does not answer; running without it until it does (optional: true)", "url", c.shown, "from", from, "err", missing)
		} else {
			env.Log.Info("connected to redis", "url", c.shown, "from", from, "optional", true)
		}
	} else {
		env.AddReadyCheck("ping", c.ping)
		env.Log.Info("connected to redis", "url", c.shown, "from", from)
	}

	if cfg.Switches.Enabled {
		c.store = NewSwitchStore(rdb, cfg.Switches.Key)
		c.store.resync = cfg.Switches.Resync
		switchErrors := env.Stats.CounterVec("redis_switch_errors_total",
			"Switch values in Redis that could not be read, lost subscriptions and failed reads of the hash.", "client").
			WithLabelValues(env.Section)
		c.switchErr = func(err error) {
			switchErrors.Inc()
			env.Log.Error("redis switches", "key", c.store.key, "err", err)
		}
		if err := c.store.sync(ctx, env.Switch, c.switchErr); err != nil && !cfg.Optional {
			return fmt.Errorf("load switches from redis %s: %w", c.shown, err)
		} else if err != nil {
			c.switchErr(fmt.Errorf("load switches: %w; the watch retries", err))
		}
		env.Log.Info("switches from redis", "key", c.store.key, "switches", len(env.Switch.Names()))
	}
	return nil
}

// permanent reports errors that retrying cannot fix: the server answered,
// and said no.
func permanent(err error) bool {
	msg := err.Error()
	for _, p := range []string{"WRONGPASS", "NOAUTH", "NOPERM", "ERR invalid password", "ERR DB index is out of range", "ERR invalid DB index"} {
		if strings.HasPrefix(msg, p) || strings.Contains(msg, ": "+p) {
			return true
		}
	}
	return false
}

// ping is the /readyz check.
func (c *Client) ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, time.Duration(c.pingTimeout.Load()))
	defer cancel()
	if err := c.Client.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("PING %s: %w", c.shown, err)
	}
	return nil
}

// ToilActors implements toil.MixinActors: with switches.enabled, one actor
// follows the switches hash until the service stops.
func (c *Client) ToilActors() []toil.Actor {
	if c.store == nil {
		return nil
	}
	return []toil.Actor{{Name: "switches", Run: func(ctx context.Context) error {
		return c.store.Watch(ctx, c.env.Switch, c.switchErr)
	}}}
}

// ToilStop closes the client and its connections.
func (c *Client) ToilStop(ctx context.Context) error {
	if c.Client == nil {
		return nil
	}
	if err := c.Client.Close(); err != nil && !errors.Is(err, goredis.ErrClosed) {
		return fmt.Errorf("close redis %s: %w", c.shown, err)
	}
	return nil
}

// ToilConfigChanged applies ping_timeout at once; the connection settings
// and the switches' settings are fixed for the life of the process, so a
// change to them is logged and waits for a restart.
func (c *Client) ToilConfigChanged(ctx context.Context, old, new any) error {
	o, n := *old.(*Config), *new.(*Config)
	c.pingTimeout.Store(int64(n.PingTimeout))
	o.PingTimeout, n.PingTimeout = 0, 0
	if o != n && c.env != nil {
		c.env.Log.Warn("redis settings changed; they apply at the next restart (ping_timeout applies now)", "section", c.env.Section)
	}
	return nil
}

// URL returns the URL the client is connected to, its password hidden.
func (c *Client) URL() string { return c.shown }

// supportedURLs is how the URL schemes are listed in errors.
const supportedURLs = "redis://[user:password@]host:port/db, rediss://... for TLS, unix:///path/to/redis.sock?db=N"

// parseURL reads a Redis URL. Its errors never hold the password: url's
// own errors quote the whole URL.
func parseURL(raw string) (*goredis.Options, error) {
	scheme, _, ok := strings.Cut(raw, "://")
	if !ok {
		return nil, fmt.Errorf("url %s has no scheme; want %s", redact(raw), supportedURLs)
	}
	switch strings.ToLower(scheme) {
	case "redis", "rediss", "unix":
	default:
		return nil, fmt.Errorf("url %s: unknown scheme %q; supported: %s", redact(raw), scheme, supportedURLs)
	}
	opt, err := goredis.ParseURL(raw)
	if err != nil {
		msg := err.Error()
		var ue *url.Error
		if errors.As(err, &ue) {
			msg = ue.Err.Error() // without the quoted URL
		}
		if u, perr := url.Parse(raw); perr == nil && u.User != nil {
			if pw, has := u.User.Password(); has && pw != "" {
				msg = strings.ReplaceAll(msg, pw, "xxxxx")
			}
		}
		msg = strings.ReplaceAll(msg, raw, redact(raw))
		return nil, fmt.Errorf("url %s: %s; want %s", redact(raw), msg, supportedURLs)
	}
	return opt, nil
}

var (
	userPassword = regexp.MustCompile(`//([^/@:]*):[^/@]*@`)
	userOnly     = regexp.MustCompile(`//[^/@:]*@`)
)

// redact hides the password in a URL (and a lone user part, often a
// token) for errors and logs.
func redact(raw string) string {
	if u, err := url.Parse(raw); err == nil && u.User != nil {
		if _, has := u.User.Password(); has {
			return u.Redacted()
		}
		u.User = url.User("xxxxx")
		return u.String()
	} else if err != nil {
		// An unparsable URL (a bad port) may still hold a password.
		return userOnly.ReplaceAllString(userPassword.ReplaceAllString(raw, "//$1:xxxxx@"), "//xxxxx@")
	}
	return raw
}

// routeLogs sends go-redis's own log lines (a failed dial, a dropped
// connection), which it otherwise prints to stderr, into the service's
// log. go-redis has one logger per process: the first service to connect
// gets them.
func routeLogs(log *slog.Logger) {
	logOnce.Do(func() { goredis.SetLogger(clientLog{log}) })
}

var logOnce sync.Once

type clientLog struct{ log *slog.Logger }

// Printf logs one go-redis line as a warning: go-redis logs only trouble.
func (l clientLog) Printf(ctx context.Context, format string, v ...any) {
	l.log.WarnContext(context.WithoutCancel(ctx), "go-redis: "+strings.TrimPrefix(fmt.Sprintf(format, v...), "redis: "))
}
