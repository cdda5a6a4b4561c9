package queue

import (
	"context"
	"log/slog"
	"strings"
	"sync"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/pubsub/gochannel"
)

// The in-process backend: watermill's GoChannel, one per mem:// name.
//
// GoChannel hands every message to every subscriber and has no groups, so
// each (topic, group) gets one subscription for the life of the bus, and
// the group's consumers share its channel: each message goes to one of
// them. The bus is persistent, so a group that subscribes after messages
// were published still gets them (as a NATS stream or a Redis stream would
// give them); it keeps every message in memory, which is why mem:// is for
// tests and single-process demos.

var (
	busesMu sync.Mutex
	buses   = map[string]*memBus{}
)

type memBus struct {
	name string
	gc   *gochannel.GoChannel

	mu     sync.Mutex
	groups map[string]<-chan *message.Message // "topic\x00group" → the group's channel
	cancel context.CancelFunc                 // ends the groups' subscriptions
	ctx    context.Context
}

// memBusFor returns the bus called name, creating it.
func memBusFor(name string) *memBus {
	busesMu.Lock()
	defer busesMu.Unlock()
	if b, ok := buses[name]; ok {
		return b
	}
	ctx, cancel := context.WithCancel(context.Background())
	b := &memBus{
		name:   name,
		gc:     gochannel.NewGoChannel(gochannel.Config{Persistent: true}, nil),
		groups: map[string]<-chan *message.Message{},
		ctx:    ctx,
		cancel: cancel,
	}
	buses[name] = b
	return b
}

// CloseMem drops the in-process bus mem://name and every message it holds.
// Tests that make a bus per test call it when done (see queuetest.MemURL);
// fields still using the bus see it closed.
func CloseMem(name string) {
	busesMu.Lock()
	b, ok := buses[name]
	delete(buses, name)
	busesMu.Unlock()
	if ok {
		b.cancel()
		_ = b.gc.Close()
	}
}

// memBackend is one field's handle on a bus: closing it leaves the bus.
type memBackend struct {
	bus *memBus
	pub message.Publisher
}

func dialMem(ctx context.Context, rawURL string, log *slog.Logger) (backend, error) {
	name := strings.TrimPrefix(rawURL, "mem://")
	name = strings.TrimSuffix(name, "/")
	bus := memBusFor(name)
	return &memBackend{bus: bus, pub: bus.gc}, nil
}

func (m *memBackend) publisher() message.Publisher { return m.pub }

func (m *memBackend) ensureTopic(ctx context.Context, topic string) error { return nil }

func (m *memBackend) ensureGroup(ctx context.Context, topic, group string, o subOptions) error {
	_, err := m.bus.group(topic, group)
	return err
}

func (m *memBackend) subscribe(ctx context.Context, topic, group string, o subOptions) (<-chan *message.Message, func(), error) {
	ch, err := m.bus.group(topic, group)
	return ch, func() {}, err
}

func (m *memBackend) lag(ctx context.Context, topic, group string) (int64, error) { return 0, errNoLag }

func (m *memBackend) ping(ctx context.Context) error { return nil }

func (m *memBackend) close() error { return nil }

// group returns the channel the consumers of group on topic share.
func (b *memBus) group(topic, group string) (<-chan *message.Message, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	key := topic + "\x00" + group
	if ch, ok := b.groups[key]; ok {
		return ch, nil
	}
	ch, err := b.gc.Subscribe(b.ctx, topic)
	if err != nil {
		return nil, err
	}
	b.groups[key] = ch
	return ch, nil
}
