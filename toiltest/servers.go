package toiltest

import (
	"testing"

	"github.com/toilhq/toil/internal/testserver"
)

// Redis starts a redis-server from PATH on a free 127.0.0.1 port, with
// persistence off, and returns its redis:// URL, as REDIS_URL holds it. The
// server is stopped when the test ends, and dies with the test binary if
// the test is killed. Without redis-server on PATH the test is skipped,
// saying so, unless CI is set: under CI it fails, so a CI machine that
// lacks redis-server cannot pass by skipping (apt-get install redis-server;
// toil new's CI workflow does it for --with redis).
//
//	svc := toiltest.Run(t, &Cache{}, toiltest.Config("redis: {url: "+toiltest.Redis(t)+"}"))
func Redis(t testing.TB) string {
	t.Helper()
	return testserver.Redis(t).URL()
}

// NATS starts an embedded NATS server with JetStream, on a free 127.0.0.1
// port and with its store in a temp dir, and returns its nats:// URL, as
// NATS_URL holds it. It runs in the test process, so worker processes the
// test starts reach it too; it shuts down when the test ends.
func NATS(t testing.TB) string {
	t.Helper()
	return testserver.NATS(t).URL()
}
