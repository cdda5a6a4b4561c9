package queue

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
)

// backend is one connection to a message system, owned by one queue field.
// Messages travel as watermill messages; each backend wraps a watermill
// Pub/Sub and adds what watermill leaves to the caller: creating streams
// and groups, lag, health.
type backend interface {
	// publisher publishes to any topic. Closing the backend closes it.
	publisher() message.Publisher
	// ensureTopic makes topic exist, so publishing to it works (a NATS
	// stream, a Kafka topic).
	ensureTopic(ctx context.Context, topic string) error
	// ensureGroup makes topic and the group exist, so messages published
	// from now on, and those already kept, reach the group.
	ensureGroup(ctx context.Context, topic, group string, o subOptions) error
	// subscribe starts one member of group: messages come on the channel
	// until stop is called (or ctx is cancelled). stop ends the member:
	// a message it has not handed over, or that was not acked, goes back to
	// the group; stop returns when the member's goroutines have ended.
	// Call it after the last message taken from the channel was acked or
	// nacked.
	subscribe(ctx context.Context, topic, group string, o subOptions) (ch <-chan *message.Message, stop func(), err error)
	// lag is how many messages of topic the group has not acknowledged
	// yet; errNoLag when the backend cannot tell.
	lag(ctx context.Context, topic, group string) (int64, error)
	// ping checks the connection, for /readyz.
	ping(ctx context.Context) error
	close() error
}

// subOptions are a consumer's settings its backend needs.
type subOptions struct {
	consumer       string // this member's name, unique to the process
	redeliverAfter time.Duration
}

var errNoLag = errors.New("the backend does not report lag")

// dial connects to a backend, once.
type dial func(ctx context.Context, rawURL string, log *slog.Logger) (backend, error)

func dialer(kind string) dial {
	switch kind {
	case "mem":
		return dialMem
	case "nats":
		return dialNATS
	case "redis":
		return dialRedis
	case "kafka":
		return dialKafka
	}
	return nil
}

// connect dials until it works or ctx (the setup timeout) ends, waiting a
// little longer after each failure. The error names the URL with its
// credentials hidden.
func connect(ctx context.Context, kind, rawURL string, log *slog.Logger) (backend, error) {
	d := dialer(kind)
	if d == nil {
		return nil, fmt.Errorf("backend %q is not one of mem, nats, redis, kafka", kind)
	}
	start := time.Now()
	wait := 50 * time.Millisecond
	for attempt := 1; ; attempt++ {
		// Each try gets a bounded slice of the setup time, so one hung dial
		// leaves room for the next.
		tctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		b, err := d(tctx, rawURL, log)
		cancel()
		if err == nil {
			if attempt > 1 {
				log.Info("connected", "url", redact(rawURL), "attempts", attempt, "after", time.Since(start).Round(time.Millisecond))
			}
			return b, nil
		}
		log.Warn("cannot connect; retrying", "url", redact(rawURL), "attempt", attempt, "err", err)
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("connect to %s: %w (%d attempts in %s)", redact(rawURL), err, attempt, time.Since(start).Round(time.Millisecond))
		case <-time.After(wait):
		}
		wait = min(wait*2, time.Second)
	}
}
