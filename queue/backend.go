package queue

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
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

// permanentError is a dial error that retrying cannot fix: a malformed
// URL, an unsupported option.
type permanentError struct{ err error }

func (e permanentError) Error() string { return e.err.Error() }
func (e permanentError) Unwrap() error { return e.err }

// connect dials until it works or ctx (the setup timeout) is nearly spent,
// waiting a little longer after each failure. It gives up a little before
// the deadline so its error, which names the URL with its credentials
// hidden, is what setup reports rather than a bare timeout.
func connect(ctx context.Context, kind, rawURL string, log *slog.Logger) (backend, error) {
	d := dialer(kind)
	if d == nil {
		return nil, fmt.Errorf("backend %q is not one of mem, nats, redis, kafka", kind)
	}
	start := time.Now()
	deadline, hasDeadline := ctx.Deadline()
	margin := time.Duration(0)
	if hasDeadline {
		margin = min(time.Until(deadline)/10, 500*time.Millisecond)
	}
	wait := 50 * time.Millisecond
	for attempt := 1; ; attempt++ {
		// Each try gets a bounded slice of the setup time, so one hung dial
		// leaves room for the next and for the error.
		try := 5 * time.Second
		if hasDeadline {
			try = min(try, time.Until(deadline)-margin)
		}
		tctx, cancel := context.WithTimeout(ctx, try)
		b, err := d(tctx, rawURL, log)
		cancel()
		if err == nil {
			if attempt > 1 {
				log.Info("connected", "url", redact(rawURL), "attempts", attempt, "after", time.Since(start).Round(time.Millisecond))
			}
			return b, nil
		}
		fail := func() error {
			return fmt.Errorf("connect to %s: %w (%d attempts in %s)", redact(rawURL), scrub(err, rawURL), attempt, time.Since(start).Round(time.Millisecond))
		}
		var perm permanentError
		if errors.As(err, &perm) {
			return nil, fmt.Errorf("connect to %s: %w", redact(rawURL), scrub(err, rawURL))
		}
		if hasDeadline && time.Until(deadline)-margin < wait {
			return nil, fail()
		}
		log.Warn("cannot connect; retrying", "url", redact(rawURL), "attempt", attempt, "in", wait, "err", scrub(err, rawURL))
		select {
		case <-ctx.Done():
			return nil, fail()
		case <-time.After(wait):
		}
		wait = min(wait*2, time.Second)
	}
}

// scrub removes the URL's password from a client library's error, which
// may quote the URL it was given.
func scrub(err error, rawURL string) error {
	u, perr := url.Parse(rawURL)
	if perr != nil || u.User == nil {
		return err
	}
	secret, ok := u.User.Password()
	if !ok {
		secret = u.User.Username()
	}
	if secret == "" || !strings.Contains(err.Error(), secret) {
		return err
	}
	return errors.New(strings.ReplaceAll(err.Error(), secret, "xxxxx"))
}

// deliver hands m to the consumer until it is acked (true), or ctx ends
// first (false: m stays unacknowledged and comes again). The Kafka and
// Redis backends, which read for themselves, deliver through it.
func deliver(ctx context.Context, out chan<- *message.Message, m *message.Message) bool {
	for {
		select {
		case out <- m:
		case <-ctx.Done():
			return false
		}
		select {
		case <-m.Acked():
			return true
		case <-m.Nacked():
			m = m.Copy() // a fresh ack state for the next delivery
			if ctx.Err() != nil {
				return false
			}
		case <-ctx.Done():
			select {
			case <-m.Acked(): // acked just as the member stopped
				return true
			default:
				return false
			}
		}
	}
}
