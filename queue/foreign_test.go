package queue_test

import (
	"context"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/toilhq/toil"
	"github.com/toilhq/toil/internal/testserver"
	"github.com/toilhq/toil/queue"
	"github.com/toilhq/toil/toiltest"
)

type foreign struct {
	toil.Base[struct{}]

	In   queue.Consumer[order]
	Dead queue.Consumer[[]byte]

	handled chan int
	dead    chan deadLetter
}

func (s *foreign) Setup(ctx context.Context) error {
	s.Dead.Handler = func(ctx context.Context, b []byte) error {
		s.dead <- deadLetter{payload: b, metadata: queue.MessageFrom(ctx).Metadata}
		return nil
	}
	return nil
}

func (s *foreign) OnMessage(ctx context.Context, o order) error {
	s.handled <- o.ID
	return nil
}

// TestForeignRedisEntry checks that a stream entry another producer wrote
// in its own shape is dead-lettered with the reason, and that consuming
// goes on after it (watermill-redisstream alone stops its subscriber on an
// entry it cannot read).
func TestForeignRedisEntry(t *testing.T) {
	t.Parallel()
	rs := testserver.Redis(t)
	svc := &foreign{handled: make(chan int, 1), dead: make(chan deadLetter, 1)}
	s := toiltest.Run(t, svc, toiltest.Name("test.foreign"), toiltest.Config(`
in: {url: '`+rs.URL()+`', topic: orders}
dead: {url: '`+rs.URL()+`', topic: orders.dlq, codec: raw}`))
	s.WaitReady()

	rc := goredis.NewClient(&goredis.Options{Addr: rs.Addr()})
	defer rc.Close()
	ctx := t.Context()
	if err := rc.XAdd(ctx, &goredis.XAddArgs{Stream: "orders", Values: map[string]any{"order_id": "42"}}).Err(); err != nil {
		t.Fatal(err)
	}
	d := waitDead(t, svc.dead)
	wantMeta(t, d.metadata, map[string]string{queue.MetaReason: queue.ReasonDecode})
	if e := d.metadata[queue.MetaError]; !strings.Contains(e, "stream entry with fields order_id") || !strings.Contains(e, "_watermill_message_uuid") {
		t.Errorf("dead letter %s = %q; want the entry's fields and what is missing", queue.MetaError, e)
	}
	if !strings.Contains(string(d.payload), `"order_id":"42"`) {
		t.Errorf("dead letter payload = %s; want the entry's fields", d.payload)
	}

	// The subscriber is still reading: a well-formed entry after it is handled.
	if err := rc.XAdd(ctx, &goredis.XAddArgs{Stream: "orders", Values: map[string]any{"_watermill_message_uuid": "x1", "payload": `{"id":43}`}}).Err(); err != nil {
		t.Fatal(err)
	}
	select {
	case id := <-svc.handled:
		if id != 43 {
			t.Errorf("handled order %d; want 43", id)
		}
	case <-time.After(30 * time.Second): // a hang, not a speed check
		t.Fatal("the entry after the foreign one was not handled in 30s: the subscriber stopped")
	}
}
