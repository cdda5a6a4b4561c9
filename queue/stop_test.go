package queue_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/toilhq/toil"
	"github.com/toilhq/toil/queue"
	"github.com/toilhq/toil/toiltest"
)

// inproc is one of three in-process consumers of the same group. The
// victim's handler hangs on a message until the drain time runs out, as a
// worker stuck when it is told to stop.
type inproc struct {
	toil.Base[struct{}]

	In queue.Consumer[job]

	victim  bool
	handled func(id int)
	hung    chan int // the victim's stuck message
	count   int
}

func (w *inproc) OnMessage(ctx context.Context, j job) error {
	if w.victim {
		w.count++
		if w.count > 200 {
			w.hung <- j.ID
			<-ctx.Done() // cancelled when the drain time is spent
			return ctx.Err()
		}
	}
	w.handled(j.ID)
	return nil
}

// TestStopConsumerMidStream runs three consumers in one process, stops one
// while its handler holds a message, and checks that every message is
// handled at least once. For mem:// (one process by design) this is the
// kill test: 10,000 messages; for the others it covers handing a message
// back on stop, with fewer.
func TestStopConsumerMidStream(t *testing.T) {
	t.Parallel()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			total := 2000
			if b.name == "mem" {
				total = killTotal
			}
			url := b.url(t)
			p := &producer{}
			toiltest.Run(t, p, toiltest.Name("test.producer"), toiltest.Config(fmt.Sprintf("out: {url: %q, topic: jobs}", url))).WaitReady()

			var mu sync.Mutex
			seen := map[int]int{}
			all := make(chan struct{})
			record := func(id int) {
				mu.Lock()
				defer mu.Unlock()
				seen[id]++
				if len(seen) == total && seen[id] == 1 {
					close(all)
				}
			}
			cfg := toiltest.Config(fmt.Sprintf("in: {url: %q, topic: jobs, redeliver_after: 2s}", url))
			var victim *toiltest.Service
			hung := make(chan int, 1)
			for i := range 3 {
				w := &inproc{victim: i == 0, handled: record, hung: hung}
				s := toiltest.Run(t, w, toiltest.Name("test.consumers"), cfg,
					toiltest.With(toil.WithStopTimeout(2*time.Second)))
				s.WaitReady()
				if i == 0 {
					victim = s
				}
			}
			publishers := sync.WaitGroup{}
			publishers.Go(func() { publishJobsAsync(t, p, 0, total) })
			defer publishers.Wait()

			var stuck int
			select {
			case stuck = <-hung:
			case <-time.After(time.Minute): // a hang, not a speed check
				t.Fatal("the victim never got its 201st message")
			}
			if err := victim.Stop(); err != nil {
				t.Fatalf("stopping the victim: %v", err)
			}
			if logs := victim.Logs(); !strings.Contains(logs, "the message goes back to the queue") {
				t.Errorf("the victim's log does not say it handed message %d back:\n%s", stuck, logs)
			}
			select {
			case <-all:
			case <-time.After(2 * time.Minute):
				mu.Lock()
				defer mu.Unlock()
				t.Fatalf("after 2m, %d of %d messages handled; job %d (stuck in the stopped consumer) handled %d times", len(seen), total, stuck, seen[stuck])
			}
		})
	}
}
