package queue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill-redisstream/pkg/redisstream"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/redis/go-redis/v9"
)

// The Redis streams backend: watermill-redisstream on one go-redis client
// per field. A topic is a stream key; a group is a consumer group created
// at the stream's start (XGROUP CREATE ... 0 MKSTREAM), so it also gets
// what was published before it existed. Each member reads with
// XREADGROUP under a name of its own and acks with XACK; entries a dead
// member left pending are claimed by the others once they have been idle
// for redeliver_after.

type redisBackend struct {
	rc  *redis.Client
	pub *redisstream.Publisher
	log *slog.Logger
}

var redisLogOnce sync.Once

// routeRedisLog sends go-redis's own log lines (dial retries, pool
// notices), which it writes to stderr by default through a process-wide
// logger, to the first Redis field's log at debug level: toil reports
// connection trouble itself.
func routeRedisLog(log *slog.Logger) {
	redisLogOnce.Do(func() { redis.SetLogger(redisLogger{log.With("lib", "go-redis")}) })
}

type redisLogger struct{ log *slog.Logger }

func (l redisLogger) Printf(ctx context.Context, format string, v ...any) {
	l.log.Debug(fmt.Sprintf(format, v...))
}

// sharedClient is the field's client as watermill sees it: watermill's
// publisher and subscribers each close the client they are given, and the
// field has one; the backend closes it once.
type sharedClient struct{ *redis.Client }

func (sharedClient) Close() error { return nil }

func dialRedis(ctx context.Context, rawURL string, log *slog.Logger) (backend, error) {
	opt, err := redis.ParseURL(rawURL)
	if err != nil {
		return nil, permanentError{errors.New(strings.ReplaceAll(err.Error(), rawURL, redact(rawURL)))}
	}
	routeRedisLog(log)
	// connect retries a failed start; go-redis's own five dial retries per
	// command would hide the reason behind a deadline.
	opt.DialerRetries = 2
	// A plain dial first: go-redis's pool waits out ctx on a refused
	// connection and reports a bare deadline.
	var d net.Dialer
	probe, err := d.DialContext(ctx, opt.Network, opt.Addr)
	if err != nil {
		return nil, err
	}
	_ = probe.Close()
	rc := redis.NewClient(opt)
	if err := rc.Ping(ctx).Err(); err != nil {
		_ = rc.Close()
		return nil, err
	}
	pub, err := redisstream.NewPublisher(redisstream.PublisherConfig{Client: sharedClient{rc}}, wmLogger(log))
	if err != nil {
		_ = rc.Close()
		return nil, err
	}
	return &redisBackend{rc: rc, pub: pub, log: log}, nil
}

func (r *redisBackend) publisher() message.Publisher { return r.pub }

// ensureTopic does nothing: XADD creates the stream.
func (r *redisBackend) ensureTopic(ctx context.Context, topic string) error { return nil }

func (r *redisBackend) ensureGroup(ctx context.Context, topic, group string, o subOptions) error {
	err := r.rc.XGroupCreateMkStream(ctx, topic, group, "0").Err()
	if err != nil && !strings.HasPrefix(err.Error(), "BUSYGROUP") {
		return fmt.Errorf("create consumer group %s on stream %s: %w", group, topic, err)
	}
	return nil
}

func (r *redisBackend) subscribe(ctx context.Context, topic, group string, o subOptions) (<-chan *message.Message, func(), error) {
	sub, err := redisstream.NewSubscriber(redisstream.SubscriberConfig{
		Client:        sharedClient{r.rc},
		Unmarshaller:  redisUnmarshaller{},
		Consumer:      o.consumer,
		ConsumerGroup: group,
		// Claim what a dead member left once it has been idle this long,
		// looking a few times per period.
		MaxIdleTime:   o.redeliverAfter,
		ClaimInterval: min(max(o.redeliverAfter/4, 50*time.Millisecond), 5*time.Second),
		// Without it the first XREADGROUP blocks for good and ignores ctx
		// (redis/go-redis#2556).
		DisableIndefiniteInitialBlock: true,
	}, wmLogger(r.log))
	if err != nil {
		return nil, nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	ch, err := sub.Subscribe(ctx, topic)
	if err != nil {
		cancel()
		return nil, nil, err
	}
	// Close waits for the subscriber's goroutines; the client it would
	// close is shared (see sharedClient).
	return ch, func() { cancel(); _ = sub.Close() }, nil
}

func (r *redisBackend) lag(ctx context.Context, topic, group string) (int64, error) {
	groups, err := r.rc.XInfoGroups(ctx, topic).Result()
	if err != nil {
		return 0, err
	}
	for _, g := range groups {
		if g.Name == group {
			if g.Lag < 0 {
				return 0, errNoLag // entries were deleted: Redis cannot tell
			}
			return g.Lag + g.Pending, nil
		}
	}
	return 0, fmt.Errorf("stream %s has no consumer group %s", topic, group)
}

func (r *redisBackend) ping(ctx context.Context) error { return r.rc.Ping(ctx).Err() }

func (r *redisBackend) close() error { return r.rc.Close() }

// redisUnmarshaller reads entries as watermill's default does, but never
// fails: an entry a foreign producer wrote (no watermill id or payload
// field, unreadable metadata) is handed on marked undecodable, with its
// fields as a JSON payload, and ends in the dead-letter topic instead of
// stopping the subscriber (watermill-redisstream stops reading on an
// unmarshal error).
type redisUnmarshaller struct{}

func (redisUnmarshaller) Unmarshal(values map[string]any) (*message.Message, error) {
	m, err := redisstream.DefaultMarshallerUnmarshaller{}.Unmarshal(values)
	if err == nil {
		if _, ok := values["payload"]; ok {
			return m, nil
		}
		err = errors.New("the entry has no payload field")
	}
	payload, _ := json.Marshal(values)
	id, _ := values[redisstream.UUIDHeaderKey].(string)
	if id == "" {
		id = watermill.NewUUID()
	}
	m = message.NewMessage(id, payload)
	m.Metadata.Set(metaUndecodable, fmt.Sprintf("stream entry with fields %s: %v", strings.Join(slices.Sorted(maps.Keys(values)), ", "), err))
	return m, nil
}
