package queue_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/toilhq/toil"
	"github.com/toilhq/toil/queue"
	"github.com/toilhq/toil/queue/queuetest"
	"github.com/toilhq/toil/toiltest"
)

type order struct {
	ID int `json:"id"`
}

type deadLetter struct {
	payload  []byte
	metadata map[string]string
}

// orders fails every order, and collects what reaches the dead-letter
// topic through a second consumer whose handler is set in Setup.
type orders struct {
	toil.Base[struct{}]

	In   queue.Consumer[order]
	Dead queue.Consumer[[]byte]
	Out  queue.Publisher[order]
	Junk queue.Publisher[[]byte]

	mu       sync.Mutex
	attempts map[int]int
	dead     chan deadLetter
}

func (s *orders) Setup(ctx context.Context) error {
	s.Dead.Handler = func(ctx context.Context, b []byte) error {
		m := queue.MessageFrom(ctx)
		s.dead <- deadLetter{payload: b, metadata: m.Metadata}
		return nil
	}
	return nil
}

func (s *orders) OnMessage(ctx context.Context, o order) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.attempts[o.ID]++
	if got := queue.MessageFrom(ctx).Attempt; got != s.attempts[o.ID] {
		return fmt.Errorf("MessageFrom says attempt %d, this is call %d", got, s.attempts[o.ID])
	}
	return fmt.Errorf("order %d: the warehouse says no", o.ID)
}

func TestDeadLetter(t *testing.T) {
	t.Parallel()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			url := b.url(t)
			svc := &orders{attempts: map[int]int{}, dead: make(chan deadLetter, 4)}
			s := toiltest.Run(t, svc, toiltest.Name("test.orders"), toiltest.Config(fmt.Sprintf(`
in: {url: %[1]q, topic: orders, max_attempts: 3, backoff: {initial: 1ms, max: 4ms}, redeliver_after: 5s}
dead: {url: %[1]q, topic: orders.dlq, codec: raw, redeliver_after: 5s}
out: {url: %[1]q, topic: orders}
junk: {url: %[1]q, topic: orders, codec: raw}`, url)))
			s.WaitReady()
			ctx := t.Context()

			if err := svc.Out.Publish(ctx, order{ID: 7}); err != nil {
				t.Fatal(err)
			}
			d := waitDead(t, svc.dead)
			svc.mu.Lock()
			calls := svc.attempts[7]
			svc.mu.Unlock()
			if calls != 3 {
				t.Errorf("the handler was called %d times for order 7; want max_attempts = 3", calls)
			}
			var got order
			if err := json.Unmarshal(d.payload, &got); err != nil || got.ID != 7 {
				t.Errorf("dead letter payload = %q (%v); want order 7 as published", d.payload, err)
			}
			wantMeta(t, d.metadata, map[string]string{
				queue.MetaReason:   queue.ReasonHandler,
				queue.MetaAttempts: "3",
				queue.MetaTopic:    "orders",
				queue.MetaGroup:    "test.orders",
				queue.MetaService:  "test.orders/1",
			})
			if e := d.metadata[queue.MetaError]; !strings.Contains(e, "order 7: the warehouse says no") {
				t.Errorf("dead letter %s = %q; want the handler's error", queue.MetaError, e)
			}

			// A payload the codec cannot decode goes straight to the dead
			// letters, with the reason, without reaching the handler.
			if err := svc.Junk.Publish(ctx, []byte("{not json")); err != nil {
				t.Fatal(err)
			}
			d = waitDead(t, svc.dead)
			if string(d.payload) != "{not json" {
				t.Errorf("dead letter payload = %q; want the undecodable bytes as sent", d.payload)
			}
			wantMeta(t, d.metadata, map[string]string{queue.MetaReason: queue.ReasonDecode, queue.MetaAttempts: "0"})
			if e := d.metadata[queue.MetaError]; !strings.Contains(e, "decode with codec json into queue_test.order") || !strings.Contains(e, "invalid character") {
				t.Errorf("dead letter %s = %q; want the codec's reason", queue.MetaError, e)
			}

			if err := s.Stop(); err != nil {
				t.Fatalf("stop: %v", err)
			}
			svc.mu.Lock()
			if len(svc.attempts) != 1 {
				t.Errorf("handler saw orders %v; want only order 7 (the junk never reaches it)", svc.attempts)
			}
			svc.mu.Unlock()
			reg := svc.Stats.Registry()
			in := map[string]string{"field": "In", "topic": "orders"}
			for name, want := range map[string]float64{
				"toil_queue_consumed_total": 2,
				"toil_queue_retried_total":  2,
				"toil_queue_acked_total":    0,
			} {
				if got := metric(t, reg, name, in); got != want {
					t.Errorf("%s%v = %v; want %v", name, in, got, want)
				}
			}
			for reason, want := range map[string]float64{queue.ReasonHandler: 1, queue.ReasonDecode: 1} {
				l := map[string]string{"field": "In", "topic": "orders", "reason": reason}
				if got := metric(t, reg, "toil_queue_dead_lettered_total", l); got != want {
					t.Errorf("toil_queue_dead_lettered_total%v = %v; want %v", l, got, want)
				}
			}
			if got := metric(t, reg, "toil_queue_acked_total", map[string]string{"field": "Dead"}); got != 2 {
				t.Errorf("dead letters acked = %v; want 2", got)
			}
			if got := metric(t, reg, "toil_queue_published_total", map[string]string{"field": "Out"}); got != 1 {
				t.Errorf("toil_queue_published_total{field=Out} = %v; want 1", got)
			}
		})
	}
}

func waitDead(t *testing.T, ch <-chan deadLetter) deadLetter {
	t.Helper()
	select {
	case d := <-ch:
		return d
	case <-time.After(30 * time.Second): // a hang, not a speed check
		t.Fatal("no message reached the dead-letter topic in 30s")
		return deadLetter{}
	}
}

func wantMeta(t *testing.T, got, want map[string]string) {
	t.Helper()
	for k, v := range want {
		if got[k] != v {
			t.Errorf("dead letter metadata %s = %q; want %q (all: %v)", k, got[k], v, got)
		}
	}
}

// panicky panics on order 1 and handles the others.
type panicky struct {
	toil.Base[struct{}]

	In   queue.Consumer[order]
	Dead queue.Consumer[[]byte]
	Out  queue.Publisher[order]

	handled chan int
	dead    chan deadLetter
}

func (s *panicky) Setup(ctx context.Context) error {
	s.Dead.Handler = func(ctx context.Context, b []byte) error {
		s.dead <- deadLetter{payload: b, metadata: queue.MessageFrom(ctx).Metadata}
		return nil
	}
	return nil
}

func (s *panicky) OnMessage(ctx context.Context, o order) error {
	if o.ID == 1 {
		panic("order 1 is cursed")
	}
	s.handled <- o.ID
	return nil
}

// TestHandlerPanic checks that a panicking handler is an error like any
// other: retried, then dead-lettered with the panic and its stack, while
// the worker goes on with the next message.
func TestHandlerPanic(t *testing.T) {
	t.Parallel()
	url := queuetest.MemURL(t)
	svc := &panicky{handled: make(chan int, 1), dead: make(chan deadLetter, 1)}
	s := toiltest.Run(t, svc, toiltest.Name("test.panicky"), toiltest.Config(fmt.Sprintf(`
in: {url: %[1]q, topic: orders, max_attempts: 2, backoff: {initial: 1ms, max: 1ms}}
dead: {url: %[1]q, topic: orders.dlq, codec: raw}
out: {url: %[1]q, topic: orders}`, url)))
	s.WaitReady()
	for _, id := range []int{1, 2} {
		if err := svc.Out.Publish(t.Context(), order{ID: id}); err != nil {
			t.Fatal(err)
		}
	}
	d := waitDead(t, svc.dead)
	wantMeta(t, d.metadata, map[string]string{queue.MetaReason: queue.ReasonHandler, queue.MetaAttempts: "2"})
	if e := d.metadata[queue.MetaError]; !strings.Contains(e, "panic: order 1 is cursed") || !strings.Contains(e, "goroutine") {
		t.Errorf("dead letter %s = %q; want the panic and its stack", queue.MetaError, e)
	}
	select {
	case id := <-svc.handled:
		if id != 2 {
			t.Errorf("handled order %d; want 2", id)
		}
	case <-time.After(30 * time.Second): // a hang, not a speed check
		t.Fatal("order 2 was not handled after order 1's panics")
	}
}
