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

// The Redis streams backend, on one go-redis client per field. A topic is
// a stream key; a group is a consumer group created at the stream's start
// (XGROUP CREATE ... 0 MKSTREAM), so it also gets what was published
// before it existed.
//
// Publishing is watermill-redisstream's Publisher (and its entry format:
// id, msgpack metadata, payload). Consuming is toil's own, in the same
// format: watermill-redisstream's subscriber reads one entry per
// XREADGROUP and acks each with its own XACK, three Redis round trips per
// message with the XADD, which on a small machine held the mixin to 0.67
// of a plain go-redis consumer reading in batches; and it stops reading
// for good at an entry it cannot unmarshal. Here each member reads up to
// redisBatch entries per XREADGROUP, acks each after its handler, and
// every so often claims (XAUTOCLAIM) entries a dead member left pending
// for longer than redeliver_after. Acks go in one XACK per batch.

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
// publisher closes the client it is given, and the field has one; the
// backend closes it once.
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
	r.pruneConsumers(ctx, topic, group)
	return nil
}

// pruneConsumers forgets the group's consumers that hold nothing and have
// been idle for an hour: each worker process reads under a name of its
// own, so restarts would otherwise pile names up.
func (r *redisBackend) pruneConsumers(ctx context.Context, topic, group string) {
	cs, err := r.rc.XInfoConsumers(ctx, topic, group).Result()
	if err != nil {
		return
	}
	for _, c := range cs {
		if c.Pending == 0 && c.Idle > time.Hour {
			_ = r.rc.XGroupDelConsumer(ctx, topic, group, c.Name).Err()
		}
	}
}

// redisBatch is how many entries a member reads at once: they are
// pending on it until handled, so a member that dies leaves at most this
// many for the others to claim.
const redisBatch = 64

// redisBlock is how long one XREADGROUP waits for new entries at most.
const redisBlock = 500 * time.Millisecond

func (r *redisBackend) subscribe(ctx context.Context, topic, group string, o subOptions) (<-chan *message.Message, func(), error) {
	ctx, cancel := context.WithCancel(ctx)
	out := make(chan *message.Message)
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(out)
		r.consume(ctx, topic, group, o, out)
	}()
	return out, func() { cancel(); <-done }, nil
}

// consume reads the group's entries for one member until ctx ends.
func (r *redisBackend) consume(ctx context.Context, topic, group string, o subOptions, out chan<- *message.Message) {
	// Claim a few times per redeliver_after, so a dead member's entries
	// move soon after they may.
	claimEvery := min(max(o.redeliverAfter/4, 50*time.Millisecond), 5*time.Second)
	var lastClaim time.Time
	wait := 100 * time.Millisecond
	for ctx.Err() == nil {
		var batch []redis.XMessage
		var err error
		if time.Since(lastClaim) >= claimEvery {
			lastClaim = time.Now()
			batch, _, err = r.rc.XAutoClaim(ctx, &redis.XAutoClaimArgs{
				Stream: topic, Group: group, Consumer: o.consumer,
				MinIdle: o.redeliverAfter, Start: "0-0", Count: redisBatch,
			}).Result()
		}
		if err == nil && len(batch) == 0 {
			var res []redis.XStream
			res, err = r.rc.XReadGroup(ctx, &redis.XReadGroupArgs{
				Group: group, Consumer: o.consumer, Streams: []string{topic, ">"},
				// go-redis cannot interrupt a blocked read when ctx ends
				// (redis/go-redis#2556): the block time bounds how long
				// stopping waits for it.
				Count: redisBatch, Block: min(claimEvery, redisBlock),
			}).Result()
			if len(res) > 0 {
				batch = res[0].Messages
			}
		}
		if errors.Is(err, redis.Nil) {
			continue // nothing new within the block time
		}
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			r.log.Warn("read stream; retrying", "topic", topic, "group", group, "in", wait, "err", err)
			if !sleep(ctx, wait) {
				return
			}
			wait = min(wait*2, 5*time.Second)
			continue
		}
		wait = 100 * time.Millisecond
		read := time.Now()
		acked := make([]string, 0, len(batch))
		for i, xm := range batch {
			if time.Since(read) > o.redeliverAfter/2 {
				// The batch has waited long enough that another member
				// could claim it: ack what is done and claim the rest again,
				// which restarts its idle time, so slow handlers do not
				// cause double handling.
				acked = r.ack(ctx, topic, group, acked)
				r.reclaim(ctx, topic, group, o.consumer, batch[i:])
				read = time.Now()
			}
			ok := r.deliver(ctx, xm, out)
			if ok {
				acked = append(acked, xm.ID)
			}
			if !ok {
				r.ack(ctx, topic, group, acked)
				return // the rest stay pending and are claimed after redeliver_after
			}
		}
		// One XACK for the batch: the handler has finished each entry, and
		// one that is not acked yet if the worker dies now is handled again.
		r.ack(ctx, topic, group, acked)
	}
}

func (r *redisBackend) reclaim(ctx context.Context, topic, group, consumer string, rest []redis.XMessage) {
	ids := make([]string, len(rest))
	for i, xm := range rest {
		ids[i] = xm.ID
	}
	err := r.rc.XClaimJustID(ctx, &redis.XClaimArgs{Stream: topic, Group: group, Consumer: consumer, Messages: ids}).Err()
	if err != nil && ctx.Err() == nil {
		r.log.Warn("XCLAIM of the batch's rest failed; another worker may handle some of it too", "topic", topic, "err", err)
	}
}

// deliver hands one entry to the consumer until it is acked (true) or ctx
// ends (false).
func (r *redisBackend) deliver(ctx context.Context, xm redis.XMessage, out chan<- *message.Message) bool {
	m, _ := redisUnmarshaller{}.Unmarshal(xm.Values)
	return deliver(ctx, out, m)
}

// ack acknowledges entries with one XACK and returns ids emptied. If
// Redis cannot be told, the entries stay pending and are handled again
// after redeliver_after: at least once.
func (r *redisBackend) ack(ctx context.Context, topic, group string, ids []string) []string {
	if len(ids) == 0 {
		return ids
	}
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := r.rc.XAck(actx, topic, group, ids...).Err(); err != nil {
		r.log.Warn("XACK failed; the entries will be handled again", "topic", topic, "group", group, "entries", len(ids), "err", err)
	}
	return ids[:0]
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
// fields as a JSON payload, and ends in the dead-letter topic.
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
