package tempest

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"

	goredis "github.com/redis/go-redis/v9"
	"github.com/toilhq/toil/internal/testserver"
	"github.com/toilhq/toil/queue/queuetest"
	"github.com/toilhq/toil/toiltest"
)

// pushStart runs a pusher on a fresh redis-server and bus. It returns the
// publisher that feeds it, a channel with the result of each message it
// handled, and a client of its Redis.
func pushStart(t *testing.T) (*rankPub[Slates], <-chan error, *goredis.Client) {
	t.Helper()
	srv := testserver.Redis(t)
	url := queuetest.MemURL(t)
	p := &Pusher{}
	handled := make(chan error, 100)
	p.In.Handler = func(ctx context.Context, s Slates) error {
		err := p.OnMessage(ctx, s)
		handled <- err
		return err
	}
	cfg := rankQueue("in", url, TopicSlates) + fmt.Sprintf("redis: {url: %q}\n", srv.URL())
	toiltest.Run(t, p, toiltest.Name("tempest.pusher"), toiltest.Config(cfg)).WaitReady()
	rdb := goredis.NewClient(&goredis.Options{Addr: srv.Addr()})
	t.Cleanup(func() { rdb.Close() })
	return rankPublisher[Slates](t, url, TopicSlates, "test.slates"), handled, rdb
}

// pushCycle is cycle's Slates for placements p0..p<n-1>, each slate's ads
// naming the cycle so slates of two cycles differ.
func pushCycle(cycle int64, n int) Slates {
	s := Slates{Cycle: cycle}
	for i := range n {
		id := fmt.Sprintf("p%d", i)
		s.Placements = append(s.Placements, Placement{ID: id, Width: 300, Height: 250})
		var ads []ScoredAd
		for j := range 3 {
			ads = append(ads, ScoredAd{
				Placement: id, Ad: fmt.Sprintf("c%d-a%d", cycle, j), Campaign: fmt.Sprintf("c%d", j),
				Text: fmt.Sprintf("cycle %d ad %d", cycle, j), Score: float64(10 - j),
			})
		}
		s.Slates = append(s.Slates, Slate{Placement: id, Cycle: cycle, Ads: ads})
	}
	return s
}

// pushSend publishes s to the pusher and waits until it has handled it.
func pushSend(t *testing.T, in *rankPub[Slates], handled <-chan error, s Slates) {
	t.Helper()
	if err := in.Out.Publish(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	if err := rankRecv(t, handled); err != nil {
		t.Fatalf("push cycle %d: %v", s.Cycle, err)
	}
}

// pushDump is every tempest:* key with its DUMP, the exact stored value.
func pushDump(t *testing.T, rdb *goredis.Client) map[string]string {
	t.Helper()
	ctx := context.Background()
	keys, err := rdb.Keys(ctx, "tempest:*").Result()
	if err != nil {
		t.Fatal(err)
	}
	dump := map[string]string{}
	for _, k := range keys {
		if dump[k], err = rdb.Dump(ctx, k).Result(); err != nil {
			t.Fatal(err)
		}
	}
	return dump
}

// pushStored reads what Redis holds: the pushed cycle, the placements and
// each placement's slate.
func pushStored(t *testing.T, rdb *goredis.Client, placements []string) (pushed string, ps []Placement, slates map[string]Slate) {
	t.Helper()
	ctx := context.Background()
	pushed, err := rdb.Get(ctx, KeyPushed).Result()
	if err != nil {
		t.Fatalf("GET %s: %v", KeyPushed, err)
	}
	data, err := rdb.Get(ctx, KeyPlacements).Bytes()
	if err != nil {
		t.Fatalf("GET %s: %v", KeyPlacements, err)
	}
	if err := json.Unmarshal(data, &ps); err != nil {
		t.Fatalf("%s holds %q: %v", KeyPlacements, data, err)
	}
	slates = map[string]Slate{}
	for _, id := range placements {
		data, err := rdb.Get(ctx, KeySlate(id)).Bytes()
		if err != nil {
			t.Fatalf("GET %s: %v", KeySlate(id), err)
		}
		var s Slate
		if err := json.Unmarshal(data, &s); err != nil {
			t.Fatalf("%s holds %q: %v", KeySlate(id), data, err)
		}
		slates[id] = s
	}
	return pushed, ps, slates
}

func TestPusherWritesACycleAndAReplayChangesNothing(t *testing.T) {
	t.Parallel()
	in, handled, rdb := pushStart(t)
	c := pushCycle(1, 4)
	pushSend(t, in, handled, c)
	pushed, ps, slates := pushStored(t, rdb, []string{"p0", "p1", "p2", "p3"})
	if pushed != "1" || !reflect.DeepEqual(ps, c.Placements) {
		t.Errorf("after cycle 1: %s = %q and placements %+v, want 1 and %+v", KeyPushed, pushed, ps, c.Placements)
	}
	for _, s := range c.Slates {
		if !reflect.DeepEqual(slates[s.Placement], s) {
			t.Errorf("%s holds %+v, want %+v", KeySlate(s.Placement), slates[s.Placement], s)
		}
	}
	before := pushDump(t, rdb)
	pushSend(t, in, handled, c)
	if after := pushDump(t, rdb); !reflect.DeepEqual(after, before) {
		t.Errorf("replaying cycle 1 changed Redis:\nbefore %v\nafter  %v", before, after)
	}
}

func TestPusherNeverOverwritesANewerCycle(t *testing.T) {
	t.Parallel()
	in, handled, rdb := pushStart(t)
	newer := pushCycle(3, 3)
	pushSend(t, in, handled, newer)
	older := pushCycle(2, 4) // one placement more: p3, which cycle 3 lacks
	pushSend(t, in, handled, older)

	pushed, ps, slates := pushStored(t, rdb, []string{"p0", "p1", "p2"})
	if pushed != "3" || !reflect.DeepEqual(ps, newer.Placements) {
		t.Errorf("after cycles 3 then 2: %s = %q and placements %+v, want cycle 3's", KeyPushed, pushed, ps)
	}
	for _, s := range newer.Slates {
		if !reflect.DeepEqual(slates[s.Placement], s) {
			t.Errorf("%s holds %+v, want cycle 3's %+v", KeySlate(s.Placement), slates[s.Placement], s)
		}
	}
}

func TestPusherRejectsCycleZero(t *testing.T) {
	t.Parallel()
	if _, _, err := pushArgs(pushCycle(0, 1)); err == nil || !strings.Contains(err.Error(), "cycle 0") {
		t.Errorf("pushArgs(cycle 0) = %v, want an error naming cycle 0", err)
	}
}

func TestPusherReaderNeverSeesTwoCycles(t *testing.T) {
	t.Parallel()
	in, handled, rdb := pushStart(t)
	const placements, cycles = 8, 40
	var keys []string
	for i := range placements {
		keys = append(keys, KeySlate(fmt.Sprintf("p%d", i)))
	}

	// The reader does what web's loader does: one MGET of every slate.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var reads int
	var torn []string
	wg.Go(func() {
		for {
			seen, err := pushReadCycles(rdb, keys)
			reads++
			if err != nil {
				torn = append(torn, err.Error())
			} else if len(seen) > 1 {
				torn = append(torn, fmt.Sprintf("one MGET saw cycles %v", seen))
			}
			select {
			case <-stop:
				return
			default:
			}
		}
	})
	for cycle := int64(1); cycle <= cycles; cycle++ {
		pushSend(t, in, handled, pushCycle(cycle, placements))
		if cycle%10 == 0 { // replays in between, as redeliveries bring them
			pushSend(t, in, handled, pushCycle(cycle-5, placements))
		}
	}
	close(stop)
	wg.Wait()

	if len(torn) > 0 {
		t.Errorf("%d of %d reads were torn, e.g. %s", len(torn), reads, torn[0])
	}
	if pushed, _, _ := pushStored(t, rdb, nil); pushed != fmt.Sprint(cycles) {
		t.Errorf("%s = %s after %d cycles", KeyPushed, pushed, cycles)
	}
}

// pushReadCycles MGETs keys and returns the cycles their slates are of,
// "none" for a missing slate.
func pushReadCycles(rdb *goredis.Client, keys []string) (map[string]bool, error) {
	vals, err := rdb.MGet(context.Background(), keys...).Result()
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for i, v := range vals {
		s, ok := v.(string)
		if !ok {
			seen["none"] = true
			continue
		}
		var slate Slate
		if err := json.Unmarshal([]byte(s), &slate); err != nil {
			return nil, fmt.Errorf("%s holds %q: %w", keys[i], s, err)
		}
		seen[fmt.Sprint(slate.Cycle)] = true
	}
	return seen, nil
}
