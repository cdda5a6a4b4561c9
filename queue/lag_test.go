package queue_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/toilhq/toil"
	"github.com/toilhq/toil/queue"
	"github.com/toilhq/toil/toiltest"
)

// holder keeps the first message in its handler until released.
type holder struct {
	toil.Base[struct{}]

	In  queue.Consumer[order]
	Out queue.Publisher[order]

	got     chan int
	release chan struct{}
}

func (h *holder) OnMessage(ctx context.Context, o order) error {
	h.got <- o.ID
	select {
	case <-h.release:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// TestLag checks that the group's lag is what the backend says: messages
// published and not yet acknowledged, in Lag and in toil_queue_lag.
func TestLag(t *testing.T) {
	t.Parallel()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			url := b.url(t)
			h := &holder{got: make(chan int, 8), release: make(chan struct{})}
			s := toiltest.Run(t, h, toiltest.Name("test.lag"), toiltest.Config(fmt.Sprintf(`
in: {url: %[1]q, topic: lag, redeliver_after: 10s}
out: {url: %[1]q, topic: lag}`, url)))
			s.WaitReady()
			defer close(h.release)
			for id := range 3 {
				if err := h.Out.Publish(t.Context(), order{ID: id}); err != nil {
					t.Fatal(err)
				}
			}
			<-h.got // the first is in hand, none acked
			n, err := h.In.Lag(t.Context())
			if b.name == "mem" {
				if err == nil {
					t.Errorf("mem Lag = %d, nil error; want an error saying it cannot tell", n)
				}
				return
			}
			// A backend's numbers may trail a delivery in flight by a moment
			// (seen once on a loaded machine): ask again for a while.
			for deadline := time.Now().Add(10 * time.Second); (err != nil || n != 3) && time.Now().Before(deadline); {
				time.Sleep(50 * time.Millisecond)
				n, err = h.In.Lag(t.Context())
			}
			if err != nil || n != 3 {
				t.Errorf("Lag = %d, %v; want 3 (published, none acknowledged)", n, err)
			}
			l := map[string]string{"field": "In", "topic": "lag", "group": "test.lag"}
			if got := metric(t, h.Stats.Registry(), "toil_queue_lag", l); got != 3 {
				t.Errorf("toil_queue_lag%v = %v; want 3", l, got)
			}
		})
	}
}
