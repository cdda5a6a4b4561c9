package queue

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	wmjs "github.com/ThreeDotsLabs/watermill-nats/v2/pkg/jetstream"
	wmnats "github.com/ThreeDotsLabs/watermill-nats/v2/pkg/nats"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// The NATS JetStream backend: watermill-nats's jetstream package on one
// connection per field. A topic is a stream of the same name holding one
// subject of that name ('.' and other characters streams cannot have
// become '_': ads.batches is stream and subject ads_batches). A group is a
// durable pull consumer on it, so every worker of a service pulls from the
// same consumer and each message goes to one of them.

type natsBackend struct {
	nc  *nats.Conn
	js  jetstream.JetStream
	pub *wmjs.Publisher
	log *slog.Logger
}

// natsPull is how many messages one member has pulled but not acked at
// most: enough to keep a worker busy, few enough that a dead worker's
// share is small.
const natsPull = 128

func dialNATS(ctx context.Context, rawURL string, log *slog.Logger) (backend, error) {
	opts := []nats.Option{
		nats.Name("toil"),
		nats.MaxReconnects(-1), // a worker outlives a NATS restart
		nats.ReconnectWait(250 * time.Millisecond),
	}
	if dl, ok := ctx.Deadline(); ok {
		opts = append(opts, nats.Timeout(time.Until(dl)))
	}
	nc, err := nats.Connect(rawURL, opts...)
	if err != nil {
		return nil, err
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, err
	}
	if _, err := js.AccountInfo(ctx); err != nil {
		nc.Close()
		if errors.Is(err, jetstream.ErrJetStreamNotEnabled) || errors.Is(err, jetstream.ErrJetStreamNotEnabledForAccount) {
			return nil, fmt.Errorf("JetStream is not enabled on the server (start nats-server with -js): %w", err)
		}
		return nil, fmt.Errorf("JetStream: %w", err)
	}
	pub, err := wmjs.NewPublisher(wmjs.PublisherConfig{Conn: nc, Logger: wmLogger(log), ConfigureStream: natsStream})
	if err != nil {
		nc.Close()
		return nil, err
	}
	return &natsBackend{nc: nc, js: js, pub: pub, log: log}, nil
}

func natsStream(topic string) jetstream.StreamConfig {
	name := sanitize(topic)
	return jetstream.StreamConfig{Name: name, Subjects: []string{name}}
}

func (n *natsBackend) publisher() message.Publisher { return n.pub }

func (n *natsBackend) ensureTopic(ctx context.Context, topic string) error {
	cfg := natsStream(topic)
	if _, err := n.js.Stream(ctx, cfg.Name); err == nil {
		return nil // it exists: its settings are its owner's
	} else if !errors.Is(err, jetstream.ErrStreamNotFound) {
		return fmt.Errorf("look up stream %s: %w", cfg.Name, err)
	}
	if _, err := n.js.CreateStream(ctx, cfg); err != nil && !errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
		return fmt.Errorf("create stream %s: %w", cfg.Name, err)
	}
	return nil
}

func natsConsumer(group string, o subOptions) jetstream.ConsumerConfig {
	return jetstream.ConsumerConfig{
		Durable:       sanitize(group),
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       o.redeliverAfter,
		MaxDeliver:    -1, // toil counts attempts and dead-letters; the server never gives up
		DeliverPolicy: jetstream.DeliverAllPolicy,
		MaxAckPending: 10000,
	}
}

func (n *natsBackend) ensureGroup(ctx context.Context, topic, group string, o subOptions) error {
	if err := n.ensureTopic(ctx, topic); err != nil {
		return err
	}
	stream := natsStream(topic).Name
	if _, err := n.js.CreateOrUpdateConsumer(ctx, stream, natsConsumer(group, o)); err != nil {
		return fmt.Errorf("create consumer %s on stream %s: %w", sanitize(group), stream, err)
	}
	return nil
}

func (n *natsBackend) subscribe(ctx context.Context, topic, group string, o subOptions) (<-chan *message.Message, func(), error) {
	stream, durable := natsStream(topic).Name, sanitize(group)
	guard := &natsGuard{}
	sub, err := wmjs.NewSubscriber(wmjs.SubscriberConfig{
		Conn:           n.nc,
		Logger:         wmLogger(n.log),
		AckWaitTimeout: o.redeliverAfter,
		ResourceInitializer: func(ctx context.Context, js jetstream.JetStream, _ string) (jetstream.Consumer, func(context.Context, watermill.LoggerAdapter), error) {
			c, err := js.Consumer(ctx, stream, durable)
			if err != nil {
				return nil, nil, err
			}
			return &guardedConsumer{Consumer: c, guard: guard}, nil, nil
		},
		ConfigureStream: natsStream,
		ConsumeOptions:  []jetstream.PullConsumeOpt{jetstream.PullMaxMessages(natsPull)},
		AckAsync:        true,
		Unmarshaler:     natsUnmarshaler{},
	})
	if err != nil {
		return nil, nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	// The subscriber is never closed: Close would drain the connection
	// every member shares; the backend's close drains it once.
	ch, err := sub.Subscribe(ctx, topic)
	if err != nil {
		cancel()
		return nil, nil, err
	}
	stop := func() {
		guard.stop(ch)
		cancel()
		for m := range ch { // closed by watermill once ctx is cancelled
			m.Nack()
		}
	}
	return ch, stop, nil
}

// natsGuard works around a race in watermill-nats's jetstream subscriber:
// cancelling a subscription closes its channel while a message callback
// may still send on it (a panic: send on closed channel). The guard lets
// no callback start once the member stops and waits for those running,
// handing back what they offer meanwhile, before the subscription is
// cancelled. It also means the acks of handled messages have been queued
// on the connection before it is drained.
type natsGuard struct {
	mu       sync.Mutex
	stopped  bool
	inFlight sync.WaitGroup
}

// enter reports whether a callback may run; if so, it must call leave.
func (g *natsGuard) enter() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.stopped {
		return false
	}
	g.inFlight.Add(1)
	return true
}

func (g *natsGuard) leave() { g.inFlight.Done() }

// stop bars new callbacks and waits for the running ones, nacking what
// they hand over on ch meanwhile.
func (g *natsGuard) stop(ch <-chan *message.Message) {
	g.mu.Lock()
	g.stopped = true
	g.mu.Unlock()
	done := make(chan struct{})
	go func() { g.inFlight.Wait(); close(done) }()
	for {
		select {
		case m := <-ch:
			m.Nack()
		case <-done:
			return
		}
	}
}

// guardedConsumer runs the subscriber's callbacks through the guard.
type guardedConsumer struct {
	jetstream.Consumer
	guard *natsGuard
}

func (c *guardedConsumer) Consume(h jetstream.MessageHandler, opts ...jetstream.PullConsumeOpt) (jetstream.ConsumeContext, error) {
	return c.Consumer.Consume(func(msg jetstream.Msg) {
		if !c.guard.enter() {
			_ = msg.Nak() // the member is stopping: to another one, now
			return
		}
		defer c.guard.leave()
		h(msg)
	}, opts...)
}

func (n *natsBackend) lag(ctx context.Context, topic, group string) (int64, error) {
	c, err := n.js.Consumer(ctx, natsStream(topic).Name, sanitize(group))
	if err != nil {
		return 0, err
	}
	info, err := c.Info(ctx)
	if err != nil {
		return 0, err
	}
	return int64(info.NumPending) + int64(info.NumAckPending), nil
}

func (n *natsBackend) ping(ctx context.Context) error {
	if st := n.nc.Status(); st != nats.CONNECTED {
		return fmt.Errorf("nats connection is %s", st)
	}
	return nil
}

func (n *natsBackend) close() error {
	// Drain sends the acks still buffered, then closes.
	if err := n.nc.Drain(); err != nil && !errors.Is(err, nats.ErrConnectionClosed) {
		return err
	}
	return nil
}

// natsUnmarshaler reads a JetStream message as watermill's default does,
// but never fails: a message with headers watermill rejects (several
// values for one key) keeps the first value of each, and one without
// watermill's id header (a foreign producer's) is named after its stream
// sequence.
type natsUnmarshaler struct{}

func (natsUnmarshaler) Unmarshal(msg jetstream.Msg) (*message.Message, error) {
	id := msg.Headers().Get(wmnats.WatermillUUIDHdr)
	if id == "" {
		if md, err := msg.Metadata(); err == nil {
			id = fmt.Sprintf("%s:%d", md.Stream, md.Sequence.Stream)
		}
	}
	m := message.NewMessage(id, msg.Data())
	for k, v := range msg.Headers() {
		switch k {
		case wmnats.WatermillUUIDHdr, nats.MsgIdHdr, nats.ExpectedLastMsgIdHdr, nats.ExpectedStreamHdr, nats.ExpectedLastSubjSeqHdr, nats.ExpectedLastSeqHdr:
			continue
		}
		if len(v) > 0 {
			m.Metadata.Set(k, v[0])
		}
	}
	return m, nil
}
