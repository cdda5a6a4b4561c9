package hello

import (
	"context"
	"testing"

	"github.com/toilhq/toil/toiltest"
)

// redisConfig is the config of the Redis field in a test: a redis-server
// of the test's own. Where redis-server is not installed the test is
// skipped, saying so, unless CI is set: then it fails (the CI workflow
// installs redis-server).
func redisConfig(t testing.TB) string {
	return "redis: {url: " + toiltest.Redis(t) + "}\n"
}

// The Redis field talks to the test's redis-server.
func TestServiceRedis(t *testing.T) {
	t.Parallel()
	s := &Service{}
	toiltest.Run(t, s, toiltest.Config(testConfig(t))).WaitReady()
	ctx := context.Background()
	if err := s.Redis.Set(ctx, "greeting", "hello", 0).Err(); err != nil {
		t.Fatalf("SET on %s: %v", s.Redis.URL(), err)
	}
	got, err := s.Redis.Get(ctx, "greeting").Result()
	if err != nil || got != "hello" {
		t.Fatalf("GET greeting on %s = %q, %v; want hello", s.Redis.URL(), got, err)
	}
}
