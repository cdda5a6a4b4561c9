package queue

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/toilhq/toil"
)

// Publisher publishes values of type T to its topic. It is a mixin: a
// named field of a service, configured under the field's key.
//
//	type Scorer struct {
//		toil.Base[Config]
//		Out queue.Publisher[ScoredAds] // out: {url: nats://..., topic: ads.scored}
//	}
//
//	err := s.Out.Publish(ctx, scored)
//
// It connects before the service's Setup (retrying until the setup timeout
// ends), so Setup may already publish, and closes after the service's
// Stop. Publish is safe for concurrent use.
type Publisher[T any] struct {
	mu    sync.RWMutex // held for reading by Publish, for writing by stop
	be    backend
	topic string
	codec Codec
	field string
	m     publisherMetrics
}

var (
	_ toil.MixinConfig        = (*Publisher[int])(nil)
	_ toil.MixinPreSetup      = (*Publisher[int])(nil)
	_ toil.MixinStop          = (*Publisher[int])(nil)
	_ toil.MixinConfigChanged = (*Publisher[int])(nil)
)

// ToilConfig returns the field's config with its defaults.
func (p *Publisher[T]) ToilConfig() any { return &PublisherConfig{} }

// ToilPreSetup connects to the backend and makes sure the topic exists.
func (p *Publisher[T]) ToilPreSetup(ctx context.Context, env *toil.MixinEnv) error {
	cfg := env.Config.(*PublisherConfig)
	kind, rawURL, codec, err := cfg.open(env)
	if err != nil {
		return err
	}
	be, err := connect(ctx, kind, rawURL, env.Log)
	if err != nil {
		return err
	}
	if err := be.ensureTopic(ctx, cfg.Topic); err != nil {
		_ = be.close()
		return fmt.Errorf("%s: %w", redact(rawURL), err)
	}
	env.AddReadyCheck("backend", be.ping)
	env.Log.Debug("publisher ready", "backend", kind, "url", redact(rawURL), "topic", cfg.Topic)

	p.mu.Lock()
	defer p.mu.Unlock()
	p.be, p.topic, p.codec, p.field = be, cfg.Topic, codec, env.Field
	p.m = newPublisherMetrics(env.Stats, env.Field, cfg.Topic)
	return nil
}

// ToilConfigChanged rejects a reload that changes where messages go: the
// connection is made at start, so such a change needs a restart.
func (p *Publisher[T]) ToilConfigChanged(ctx context.Context, old, new any) error {
	o, n := old.(*PublisherConfig), new.(*PublisherConfig)
	if o.Endpoint != n.Endpoint {
		return fmt.Errorf("%s: url, backend, topic and codec take effect at start; restart the service to change them", p.field)
	}
	return nil
}

// ToilStop closes the connection. Publishing after it returns an error.
func (p *Publisher[T]) ToilStop(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.be == nil {
		return nil
	}
	err := p.be.close()
	p.be = nil
	return err
}

var errNotRunning = errors.New("the queue field is not running (before setup or after stop)")

// Publish encodes v with the field's codec and publishes it. It returns
// once the backend has the message (a JetStream ack, XADD's reply, the
// Kafka produce response), or the error that kept it from it.
func (p *Publisher[T]) Publish(ctx context.Context, v T) error {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.be == nil {
		return fmt.Errorf("publish: %w", errNotRunning)
	}
	payload, err := p.codec.Marshal(v)
	if err != nil {
		p.m.failed.Inc()
		return fmt.Errorf("publish to %s: encode %T: %w", p.topic, v, err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("publish to %s: %w", p.topic, err)
	}
	m := message.NewMessage(watermill.NewUUID(), payload)
	m.SetContext(ctx)
	if err := p.be.publisher().Publish(p.topic, m); err != nil {
		p.m.failed.Inc()
		return fmt.Errorf("publish to %s: %w", p.topic, err)
	}
	p.m.published.Inc()
	return nil
}

// Topic returns the topic the field publishes to ("" before setup).
func (p *Publisher[T]) Topic() string {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.topic
}
