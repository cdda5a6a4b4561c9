package queue

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/toilhq/toil"
)

// Endpoint says where a field's messages go or come from: the backend, the
// topic and how payloads are encoded. It is the part of the config a
// [Publisher] and a [Consumer] share.
type Endpoint struct {
	URL     string `help:"backend URL: mem://NAME, nats://HOST:4222, redis://HOST:6379/0, kafka://HOST:9092[,HOST:9092]"`
	Backend string `help:"mem, nats, redis or kafka: with url unset, take the URL from NATS_URL, REDIS_URL or KAFKA_BROKERS"`
	Topic   string `help:"the topic (NATS subject and stream, Redis stream key, Kafka topic)"`
	Codec   string `default:"json" help:"payload codec: json, raw, or one added with RegisterCodec"`
}

// PublisherConfig is a [Publisher] field's config: the service's section
// under the field's key (out: for a field Out).
type PublisherConfig struct {
	Endpoint
}

// Validate checks the config before the service starts.
func (c *PublisherConfig) Validate() error { return c.Endpoint.validate() }

// ConsumerConfig is a [Consumer] field's config: the service's section
// under the field's key (in: for a field In).
type ConsumerConfig struct {
	Endpoint

	// Group is the consumer group the service's workers share: each
	// message goes to one of them. It defaults to the service's name.
	Group string `help:"consumer group shared by the service's workers (default: the service name)"`
	// MaxAttempts is how many times a message is handed to the handler
	// before it goes to the dead-letter topic.
	MaxAttempts int `koanf:"max_attempts" default:"5" help:"handler attempts before a message is dead-lettered"`
	// Backoff is the wait between attempts: Initial, doubling up to Max.
	Backoff Backoff
	// DeadLetter is where messages go that the handler keeps failing or
	// that cannot be decoded; it defaults to <topic>.dlq.
	DeadLetter string `koanf:"dead_letter" help:"dead-letter topic (default: <topic>.dlq)"`
	// Concurrency is how many messages one worker handles at once.
	Concurrency int `default:"1" help:"messages one worker handles at once"`
	// RedeliverAfter is how long a message taken by a worker that died
	// stays unacknowledged before another worker gets it: NATS's ack wait,
	// the idle time after which a Redis stream entry is claimed, Kafka's
	// session timeout. A handler (with its retries) must finish within it,
	// or its message is handed to another worker too.
	RedeliverAfter time.Duration `koanf:"redeliver_after" default:"30s" help:"unacked messages of a dead worker go to another after this"`
}

// Backoff is the wait between a failed attempt and the next: Initial after
// the first failure, doubling each time, at most Max.
type Backoff struct {
	Initial time.Duration `default:"100ms" help:"wait after the first failed attempt"`
	Max     time.Duration `default:"5s" help:"longest wait between attempts (the wait doubles up to it)"`
}

// delay is the wait after the given failed attempt (1-based).
func (b Backoff) delay(attempt int) time.Duration {
	d := b.Initial
	for i := 1; i < attempt && d < b.Max; i++ {
		d *= 2
	}
	return min(d, b.Max)
}

// Validate checks the config before the service starts.
func (c *ConsumerConfig) Validate() error {
	var errs []error
	if err := c.Endpoint.validate(); err != nil {
		errs = append(errs, err)
	}
	if c.MaxAttempts < 1 {
		errs = append(errs, fmt.Errorf("max_attempts is %d; want 1 or more", c.MaxAttempts))
	}
	if c.Concurrency < 1 {
		errs = append(errs, fmt.Errorf("concurrency is %d; want 1 or more", c.Concurrency))
	}
	if c.Backoff.Initial <= 0 || c.Backoff.Max < c.Backoff.Initial {
		errs = append(errs, fmt.Errorf("backoff: initial %s, max %s; want 0 < initial <= max", c.Backoff.Initial, c.Backoff.Max))
	}
	if c.RedeliverAfter <= 0 {
		errs = append(errs, fmt.Errorf("redeliver_after is %s; want more than 0", c.RedeliverAfter))
	}
	if len(errs) == 0 {
		var total time.Duration
		for a := 1; a < c.MaxAttempts; a++ {
			total += c.Backoff.delay(a)
		}
		if total >= c.RedeliverAfter {
			errs = append(errs, fmt.Errorf("retrying a message waits %s in all (max_attempts %d, backoff %s..%s), not less than redeliver_after %s: the backend would hand it to another worker while this one still retries; raise redeliver_after or lower max_attempts or backoff",
				total, c.MaxAttempts, c.Backoff.Initial, c.Backoff.Max, c.RedeliverAfter))
		}
	}
	if c.DeadLetter != "" && c.DeadLetter == c.Topic {
		errs = append(errs, fmt.Errorf("dead_letter is the topic itself (%s): a failing message would come back forever", c.Topic))
	}
	return errors.Join(errs...)
}

func (c *ConsumerConfig) deadLetter() string {
	if c.DeadLetter != "" {
		return c.DeadLetter
	}
	return c.Topic + ".dlq"
}

// The backends, by URL scheme.
var schemes = map[string]string{
	"mem":    "mem",
	"nats":   "nats",
	"tls":    "nats",
	"redis":  "redis",
	"rediss": "redis",
	"kafka":  "kafka",
}

// Where each backend's URL comes from when the config names no url: the
// worker protocol's conventional variables.
var backendEnv = map[string]string{
	"nats":  "NATS_URL",
	"redis": "REDIS_URL",
	"kafka": "KAFKA_BROKERS",
}

const supported = "mem://NAME, nats://HOST:PORT, redis://HOST:PORT/DB, kafka://HOST:PORT[,HOST:PORT]"

func (e *Endpoint) validate() error {
	var errs []error
	if strings.TrimSpace(e.Topic) == "" {
		errs = append(errs, errors.New("topic is not set: name the topic, e.g. topic: ads.batches"))
	}
	if e.Backend != "" {
		if _, ok := backendEnv[e.Backend]; !ok && e.Backend != "mem" {
			errs = append(errs, fmt.Errorf("backend %q is not one of mem, nats, redis, kafka", e.Backend))
		}
	}
	if e.URL != "" {
		b, err := schemeBackend(e.URL)
		switch {
		case err != nil:
			errs = append(errs, err)
		case e.Backend != "" && b != e.Backend:
			errs = append(errs, fmt.Errorf("url %s is a %s URL but backend is %s; set one of them", redact(e.URL), b, e.Backend))
		}
	}
	if _, err := codecByName(e.Codec); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// schemeBackend names the backend a URL is for.
func schemeBackend(raw string) (string, error) {
	scheme, _, ok := strings.Cut(raw, "://")
	if !ok {
		return "", fmt.Errorf("url %s has no scheme; want one of %s", redact(raw), supported)
	}
	b, ok := schemes[strings.ToLower(scheme)]
	if !ok {
		return "", fmt.Errorf("url %s: unknown scheme %q; supported: %s", redact(raw), scheme, supported)
	}
	return b, nil
}

// open resolves the endpoint's backend and URL and its codec, with errors
// that name the field's config section: what both kinds of field check
// before they connect.
func (e *Endpoint) open(env *toil.MixinEnv) (backend, rawURL string, codec Codec, err error) {
	backend, rawURL, err = e.resolve(env.LookupEnv)
	if err == nil {
		codec, err = codecByName(e.Codec)
	}
	if err != nil {
		return "", "", nil, fmt.Errorf("config %s: %w", env.Section, err)
	}
	return backend, rawURL, codec, nil
}

// resolve returns the backend and its URL: the config's url, else the
// variable of its backend (NATS_URL, ...), else NATS_URL if set.
func (e *Endpoint) resolve(lookupEnv func(string) (string, bool)) (backend, rawURL string, err error) {
	if e.URL != "" {
		b, err := schemeBackend(e.URL)
		return b, e.URL, err
	}
	backend = e.Backend
	if backend == "" {
		if v, ok := lookupEnv("NATS_URL"); ok && v != "" {
			backend = "nats"
		} else {
			return "", "", fmt.Errorf("no backend: set url (%s) or backend (mem, nats, redis, kafka), or NATS_URL", supported)
		}
	}
	if backend == "mem" {
		return "mem", "mem://", nil
	}
	name := backendEnv[backend]
	v, ok := lookupEnv(name)
	if !ok || v == "" {
		return "", "", fmt.Errorf("backend %s: url is not set and neither is %s", backend, name)
	}
	if backend == "kafka" && !strings.Contains(v, "://") {
		v = "kafka://" + v // KAFKA_BROKERS is a bare host:port list
	}
	if b, err := schemeBackend(v); err != nil {
		return "", "", fmt.Errorf("%s: %w", name, err)
	} else if b != backend {
		return "", "", fmt.Errorf("%s is a %s URL (%s), not %s", name, b, redact(v), backend)
	}
	return backend, v, nil
}

var userinfo = regexp.MustCompile(`//[^/@]*@`)

// redact hides the password (or token) in a URL, for errors and logs.
func redact(raw string) string {
	if u, err := url.Parse(raw); err == nil && u.User != nil {
		if _, has := u.User.Password(); has {
			return u.Redacted()
		}
		// A lone user part is often a token (nats://TOKEN@host).
		u.User = url.User("xxxxx")
		return u.String()
	}
	return userinfo.ReplaceAllString(raw, "//xxxxx@")
}

// sanitize makes a topic or group usable as a NATS stream or consumer name,
// which cannot hold '.', '*', '>', path separators or white space.
func sanitize(name string) string {
	bad := []rune{'.', '*', '>', '/', '\\', ' ', '\t', '\n'}
	return strings.Map(func(r rune) rune {
		if slices.Contains(bad, r) {
			return '_'
		}
		return r
	}, name)
}
