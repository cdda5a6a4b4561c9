package toiltest_test

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	goredis "github.com/redis/go-redis/v9"

	"github.com/toilhq/toil/toiltest"
)

func TestRedisServesAndStops(t *testing.T) {
	t.Parallel()
	var url string
	t.Run("server", func(t *testing.T) {
		url = toiltest.Redis(t)
		opts, err := goredis.ParseURL(url)
		if err != nil {
			t.Fatalf("toiltest.Redis returned %q: %v", url, err)
		}
		rdb := goredis.NewClient(opts)
		defer rdb.Close()
		ctx := context.Background()
		if err := rdb.Set(ctx, "k", "v", 0).Err(); err != nil {
			t.Fatalf("SET on %s: %v", url, err)
		}
		if got, err := rdb.Get(ctx, "k").Result(); err != nil || got != "v" {
			t.Fatalf("GET on %s = %q, %v; want v", url, got, err)
		}
	})
	// The subtest has ended: its server must be gone.
	opts, _ := goredis.ParseURL(url)
	opts.MaxRetries = -1
	opts.DialTimeout = 2 * time.Second
	rdb := goredis.NewClient(opts)
	defer rdb.Close()
	if err := rdb.Ping(context.Background()).Err(); err == nil {
		t.Errorf("redis-server at %s still answers after its test ended", url)
	}
}

func TestNATSServesAndStops(t *testing.T) {
	t.Parallel()
	var url string
	t.Run("server", func(t *testing.T) {
		url = toiltest.NATS(t)
		nc, err := nats.Connect(url)
		if err != nil {
			t.Fatalf("connect to %s: %v", url, err)
		}
		defer nc.Close()
		js, err := nc.JetStream()
		if err != nil {
			t.Fatal(err)
		}
		// JetStream is on: a stream can be made.
		if _, err := js.AddStream(&nats.StreamConfig{Name: "t", Subjects: []string{"t.>"}}); err != nil {
			t.Fatalf("JetStream on %s: %v", url, err)
		}
	})
	if nc, err := nats.Connect(url, nats.Timeout(2*time.Second), nats.NoReconnect()); err == nil {
		nc.Close()
		t.Errorf("NATS at %s still accepts connections after its test ended", url)
	}
}
