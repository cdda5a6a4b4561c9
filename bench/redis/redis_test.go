// Package redisbench measures what the Redis mixin costs over a bare
// go-redis client on the same redis-server, and how fast a switch change in
// Redis reaches a running service. See README.md for the command and the
// results.
package redisbench

import (
	"context"
	"strconv"
	"testing"

	goredis "github.com/redis/go-redis/v9"

	"github.com/toilhq/toil"
	"github.com/toilhq/toil/internal/testserver"
	"github.com/toilhq/toil/redis"
	"github.com/toilhq/toil/toiltest"
)

type cache struct {
	toil.Base[struct{}]

	Redis redis.Client
}

// clients returns a bare client and a mixin's client on one server.
func clients(b *testing.B, config string) (raw *goredis.Client, mixin *redis.Client, svc *toiltest.Service) {
	srv := testserver.Redis(b)
	raw = goredis.NewClient(&goredis.Options{Addr: srv.Addr()})
	b.Cleanup(func() { raw.Close() })
	c := &cache{}
	svc = toiltest.Run(b, c, toiltest.Env("REDIS_URL="+srv.URL(), "LOG_LEVEL=error"), toiltest.Config(config))
	svc.WaitReady()
	if err := raw.Set(context.Background(), "k", "v", 0).Err(); err != nil {
		b.Fatal(err)
	}
	return raw, &c.Redis, svc
}

// BenchmarkGet is one GET of a small key, serially and from 8 goroutines
// per CPU, by a bare client and by the mixin (its metrics hook included).
func BenchmarkGet(b *testing.B) {
	raw, mixin, _ := clients(b, "")
	for _, tc := range []struct {
		name string
		get  func(ctx context.Context) error
	}{
		{"raw", func(ctx context.Context) error { return raw.Get(ctx, "k").Err() }},
		{"mixin", func(ctx context.Context) error { return mixin.Get(ctx, "k").Err() }},
	} {
		b.Run(tc.name+"/serial", func(b *testing.B) {
			ctx := context.Background()
			for b.Loop() {
				if err := tc.get(ctx); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(tc.name+"/parallel", func(b *testing.B) {
			b.SetParallelism(8)
			b.RunParallel(func(pb *testing.PB) {
				ctx := context.Background()
				for pb.Next() {
					if err := tc.get(ctx); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// BenchmarkSwitchPropagation is the time from SwitchStore.Set (HSET and
// PUBLISH in one transaction) until the running service's Switches has
// the change: one op is one change seen.
func BenchmarkSwitchPropagation(b *testing.B) {
	raw, _, svc := clients(b, "redis:\n  switches:\n    enabled: true")
	store := redis.NewSwitchStore(raw, "toil:switches")
	sw := svc.Switches()
	ctx := context.Background()
	i := 0
	for b.Loop() {
		i++
		ch := sw.Changed()
		if err := store.Set(ctx, "bench", toil.Switch{Allow: []string{strconv.Itoa(i)}}); err != nil {
			b.Fatal(err)
		}
		for !sw.Active(ctx, "bench", toil.Key(i)) {
			<-ch
			ch = sw.Changed()
		}
	}
}
