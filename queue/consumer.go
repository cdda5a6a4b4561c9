package queue

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"reflect"
	"runtime/debug"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/toilhq/toil"
)

// Consumer hands each message of its topic to the service's
// OnMessage(ctx, T) error method, or to Handler when set. It is a mixin:
// a named field of a service, configured under the field's key.
//
//	type Scorer struct {
//		toil.Base[Config]
//		In queue.Consumer[AdBatch] // in: {url: nats://..., topic: ads.batches}
//	}
//
//	func (s *Scorer) OnMessage(ctx context.Context, b AdBatch) error { ... }
//
// Delivery is at least once. A message is acknowledged only after the
// handler returns nil. An error (or a panic) is retried with backoff; after
// max_attempts the message goes to the dead-letter topic with the error in
// its metadata (see [MetaError]) and is acknowledged. A message that cannot
// be decoded goes to the dead-letter topic at once, with the reason. The
// workers of a service share one consumer group, so each message goes to
// one of them; a worker that dies leaves its unacknowledged messages to the
// others after redeliver_after.
//
// On stop the consumer takes no new messages and lets the ones in hand
// finish within the drain time; what is still unfinished goes back to the
// queue.
type Consumer[T any] struct {
	// Handler, when set (at the latest in the service's Setup), handles the
	// messages instead of the service's OnMessage method: for a second
	// consumer of another type, or a handler that is not a method.
	Handler func(ctx context.Context, v T) error

	env       *toil.MixinEnv
	beMu      sync.Mutex // be is read by /metrics scrapes while stop clears it
	be        backend
	topic     string
	group     string
	dlq       string
	codec     Codec
	codecN    string
	workers   int
	redeliver time.Duration
	consumer  string
	handle    func(ctx context.Context, v T) error
	retry     atomic.Pointer[retryPolicy]
	m         consumerMetrics
	cfg       ConsumerConfig // as started, to refuse live changes it cannot apply
}

type retryPolicy struct {
	maxAttempts int
	backoff     Backoff
}

var (
	_ toil.MixinConfig        = (*Consumer[int])(nil)
	_ toil.MixinPreSetup      = (*Consumer[int])(nil)
	_ toil.MixinPostSetup     = (*Consumer[int])(nil)
	_ toil.MixinActors        = (*Consumer[int])(nil)
	_ toil.MixinStop          = (*Consumer[int])(nil)
	_ toil.MixinConfigChanged = (*Consumer[int])(nil)
)

// ToilConfig returns the field's config with its defaults.
func (c *Consumer[T]) ToilConfig() any { return &ConsumerConfig{} }

// ToilPreSetup connects to the backend and makes sure the topic, the
// consumer group and the dead-letter topic exist, so messages published
// from now on are kept for the group even before it consumes.
func (c *Consumer[T]) ToilPreSetup(ctx context.Context, env *toil.MixinEnv) error {
	cfg := env.Config.(*ConsumerConfig)
	kind, rawURL, codec, err := cfg.open(env)
	if err != nil {
		return err
	}
	c.env, c.cfg = env, *cfg
	c.topic, c.dlq, c.codec, c.codecN = cfg.Topic, cfg.deadLetter(), codec, cfg.Codec
	c.group = cfg.Group
	if c.group == "" {
		c.group = env.Service
	}
	c.workers, c.redeliver = cfg.Concurrency, cfg.RedeliverAfter
	c.retry.Store(&retryPolicy{maxAttempts: cfg.MaxAttempts, backoff: cfg.Backoff})
	host, _ := os.Hostname()
	c.consumer = fmt.Sprintf("%s-%d-%s-%d", env.Service, env.Worker, host, os.Getpid())

	be, err := connect(ctx, kind, rawURL, env.Log)
	if err != nil {
		return err
	}
	if err := be.ensureGroup(ctx, c.topic, c.group, c.subOptions(0)); err != nil {
		_ = be.close()
		return fmt.Errorf("%s: %w", redact(rawURL), err)
	}
	if err := be.ensureTopic(ctx, c.dlq); err != nil {
		_ = be.close()
		return fmt.Errorf("%s: dead-letter topic: %w", redact(rawURL), err)
	}
	c.beMu.Lock()
	c.be = be
	c.beMu.Unlock()
	c.m = newConsumerMetrics(env.Stats, env.Field, c.topic)
	env.AddReadyCheck("backend", be.ping)
	if err := env.Stats.Registry().Register(newLagCollector(env.Field, c.topic, c.group, c.Lag)); err != nil {
		env.Log.Warn("toil_queue_lag not exported", "err", err)
	}
	env.Log.Debug("consumer ready", "backend", kind, "url", redact(rawURL), "topic", c.topic, "group", c.group, "dead_letter", c.dlq)
	return nil
}

func (c *Consumer[T]) subOptions(i int) subOptions {
	return subOptions{consumer: c.consumer + "-" + strconv.Itoa(i), redeliverAfter: c.redeliver}
}

// ToilPostSetup finds the handler: Handler if the service's Setup set it,
// else the service's OnMessage method for T.
func (c *Consumer[T]) ToilPostSetup(ctx context.Context, env *toil.MixinEnv) error {
	h, err := c.findHandler(env.Owner, env.Field)
	if err != nil {
		return err
	}
	c.handle = h
	return nil
}

func (c *Consumer[T]) findHandler(owner any, field string) (func(context.Context, T) error, error) {
	if c.Handler != nil {
		return c.Handler, nil
	}
	if h, ok := owner.(interface {
		OnMessage(context.Context, T) error
	}); ok {
		return h.OnMessage, nil
	}
	typ := reflect.TypeFor[T]().String()
	want := fmt.Sprintf("OnMessage(ctx context.Context, m %s) error", typ)
	ot := reflect.TypeOf(owner)
	if m, ok := ot.MethodByName("OnMessage"); ok {
		return nil, fmt.Errorf("field %s is a queue.Consumer[%s] but (%s).OnMessage is %s; want %s, or set %s.Handler in Setup",
			field, typ, ot, methodSig(m), want, field)
	}
	return nil, fmt.Errorf("field %s is a queue.Consumer[%s] but %s has no OnMessage method; add %s, or set %s.Handler in Setup",
		field, typ, ot, want, field)
}

// methodSig prints a method's signature without its receiver.
func methodSig(m reflect.Method) string {
	t := m.Type
	s := "func("
	for i := 1; i < t.NumIn(); i++ {
		if i > 1 {
			s += ", "
		}
		s += t.In(i).String()
	}
	s += ")"
	switch t.NumOut() {
	case 0:
	case 1:
		s += " " + t.Out(0).String()
	default:
		s += " ("
		for i := range t.NumOut() {
			if i > 0 {
				s += ", "
			}
			s += t.Out(i).String()
		}
		s += ")"
	}
	return s
}

// ToilActors returns the consuming actor.
func (c *Consumer[T]) ToilActors() []toil.Actor {
	return []toil.Actor{{Name: "consume " + c.topic, Run: c.run}}
}

// ToilConfigChanged applies max_attempts and backoff at once and rejects
// changes to the rest, which take effect only at start.
func (c *Consumer[T]) ToilConfigChanged(ctx context.Context, old, new any) error {
	n := new.(*ConsumerConfig)
	fixed := func(x ConsumerConfig) ConsumerConfig {
		x.MaxAttempts, x.Backoff = 0, Backoff{}
		return x
	}
	if fixed(c.cfg) != fixed(*n) {
		return fmt.Errorf("%s: only max_attempts and backoff change live; url, backend, topic, codec, group, dead_letter, concurrency and redeliver_after take effect at start, so restart the service to change them", c.env.Field)
	}
	c.retry.Store(&retryPolicy{maxAttempts: n.MaxAttempts, backoff: n.Backoff})
	return nil
}

// ToilStop closes the connection.
func (c *Consumer[T]) ToilStop(ctx context.Context) error {
	c.beMu.Lock()
	be := c.be
	c.be = nil
	c.beMu.Unlock()
	if be == nil {
		return nil
	}
	return be.close()
}

// Lag returns how many messages of the topic the group has not yet
// acknowledged, as the backend reports it (the in-process backend cannot
// tell and returns an error).
func (c *Consumer[T]) Lag(ctx context.Context) (int64, error) {
	c.beMu.Lock()
	be := c.be
	c.beMu.Unlock()
	if be == nil {
		return 0, fmt.Errorf("lag: %w", errNotRunning)
	}
	return be.lag(ctx, c.topic, c.group)
}

// Topic returns the topic the field consumes ("" before setup).
func (c *Consumer[T]) Topic() string { return c.topic }

// Group returns the consumer group the field consumes in ("" before
// setup).
func (c *Consumer[T]) Group() string { return c.group }

// run consumes until ctx is cancelled, then drains: the messages in hand
// get up to three quarters of the drain time to finish (the rest is for
// closing), and what is unfinished then goes back to the queue.
func (c *Consumer[T]) run(ctx context.Context) error {
	// Members outlive ctx until their messages in hand are done: they are
	// stopped below, after the loops.
	subCtx, cancelSub := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelSub()
	// Handlers outlive ctx by the drain time, so a message in hand on stop
	// is finished rather than abandoned.
	hctx, cancelH := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelH()

	var stops []func()
	defer func() {
		for _, stop := range stops {
			stop()
		}
	}()
	chans := make([]<-chan *message.Message, 0, c.workers)
	for i := range c.workers {
		ch, stop, err := c.be.subscribe(subCtx, c.topic, c.group, c.subOptions(i))
		if err != nil {
			return fmt.Errorf("subscribe to %s: %w", c.topic, err)
		}
		chans = append(chans, ch)
		stops = append(stops, stop)
	}

	loopCtx, stopLoops := context.WithCancel(ctx)
	defer stopLoops()
	var wg sync.WaitGroup
	ended := make(chan struct{}, len(chans))
	for _, ch := range chans {
		wg.Go(func() {
			c.loop(loopCtx, hctx, ch)
			ended <- struct{}{}
		})
	}
	var err error
	select {
	case <-ctx.Done():
	case <-ended:
		// A member's subscription ended under it: stop the others and fail,
		// so the worker is restarted rather than left half consuming.
		err = fmt.Errorf("the subscription to %s ended", c.topic)
		stopLoops()
	}
	loopsDone := make(chan struct{})
	go func() { wg.Wait(); close(loopsDone) }()
	drain := time.NewTimer(toil.DrainTimeout(ctx) * 3 / 4)
	defer drain.Stop()
	select {
	case <-loopsDone:
	case <-drain.C:
		cancelH() // handlers still running are told to give up
		<-loopsDone
	}
	return err
}

// loop handles the messages of one member until ctx is done or its
// channel closes.
func (c *Consumer[T]) loop(ctx, hctx context.Context, ch <-chan *message.Message) {
	for {
		select {
		case <-ctx.Done():
			return
		case m, ok := <-ch:
			if !ok {
				return
			}
			if ctx.Err() != nil {
				m.Nack() // arrived as we stopped: someone else's now
				return
			}
			c.process(ctx, hctx, m)
		}
	}
}

// process handles one message: decode, call the handler with retries, then
// ack, dead-letter or, when stopping, hand it back.
func (c *Consumer[T]) process(ctx, hctx context.Context, m *message.Message) {
	c.m.consumed.Inc()
	// The message's logger is made only when there is something to log:
	// With costs more than handling a message.
	log := func() *slog.Logger { return c.env.Log.With("topic", c.topic, "id", m.UUID) }
	if why := m.Metadata.Get(metaUndecodable); why != "" {
		c.deadLetter(ctx, log, m, ReasonDecode, errors.New(why), 0)
		return
	}
	var v T
	if err := c.codec.Unmarshal(m.Payload, &v); err != nil {
		c.deadLetter(ctx, log, m, ReasonDecode, fmt.Errorf("decode with codec %s into %T: %w", c.codecN, v, err), 0)
		return
	}
	info := &Message{ID: m.UUID, Topic: c.topic, Metadata: m.Metadata, Payload: m.Payload}
	for attempt := 1; ; attempt++ {
		p := c.retry.Load()
		info.Attempt = attempt
		start := time.Now()
		err := callHandler(withMessage(hctx, info), c.handle, v)
		c.m.seconds.Observe(time.Since(start).Seconds())
		if err == nil {
			m.Ack()
			c.m.acked.Inc()
			return
		}
		if ctx.Err() != nil {
			// Stopping: the attempt may have failed because of it; another
			// worker (or this one, restarted) takes the message over.
			log().Info("handler failed while stopping; the message goes back to the queue", "attempt", attempt, "err", err)
			m.Nack()
			return
		}
		if attempt >= p.maxAttempts {
			c.deadLetter(ctx, log, m, ReasonHandler, err, attempt)
			return
		}
		c.m.retried.Inc()
		wait := p.backoff.delay(attempt)
		log().Warn("handler failed; retrying", "attempt", attempt, "max_attempts", p.maxAttempts, "in", wait, "err", err)
		if !sleep(ctx, wait) {
			m.Nack()
			return
		}
	}
}

// callHandler calls h, turning a panic into an error with its stack: one
// bad message must not take the worker down.
func callHandler[T any](ctx context.Context, h func(context.Context, T) error, v T) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v\n%s", r, debug.Stack())
		}
	}()
	return h(ctx, v)
}

// maxMetaError bounds the error kept in a dead letter's metadata: backends
// limit header sizes, and a panic's stack should not crowd out the rest.
const maxMetaError = 2048

// deadLetter publishes m to the dead-letter topic with why, then acks it.
// If the dead-letter topic cannot be reached the message is handed back
// after a wait: it is never dropped.
func (c *Consumer[T]) deadLetter(ctx context.Context, log func() *slog.Logger, m *message.Message, reason string, why error, attempts int) {
	dm := message.NewMessage(m.UUID, m.Payload)
	for k, v := range m.Metadata {
		dm.Metadata.Set(k, v)
	}
	text := why.Error()
	if len(text) > maxMetaError {
		text = text[:maxMetaError] + "…"
	}
	dm.Metadata.Set(MetaReason, reason)
	dm.Metadata.Set(MetaError, text)
	dm.Metadata.Set(MetaAttempts, strconv.Itoa(attempts))
	dm.Metadata.Set(MetaTopic, c.topic)
	dm.Metadata.Set(MetaGroup, c.group)
	dm.Metadata.Set(MetaService, fmt.Sprintf("%s/%d", c.env.Service, c.env.Worker))
	delete(dm.Metadata, metaUndecodable)
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	dm.SetContext(pctx)
	if err := c.be.publisher().Publish(c.dlq, dm); err != nil {
		log().Error("cannot publish to the dead-letter topic; the message stays in the queue", "dead_letter", c.dlq, "reason", reason, "err", err)
		sleep(ctx, c.retry.Load().backoff.Max)
		m.Nack()
		return
	}
	m.Ack()
	c.m.deadLettered.WithLabelValues(reason).Inc()
	log().Warn("message dead-lettered", "dead_letter", c.dlq, "reason", reason, "attempts", attempts, "err", why)
}

// sleep waits d, or until ctx is done (false).
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
