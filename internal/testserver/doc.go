// Package testserver starts the backing systems toil's tests talk to, for
// real: redis-server from PATH on a free loopback port, an embedded NATS
// server with JetStream, and franz-go's kfake Kafka cluster. Each helper
// stops what it started when the test ends (t.Cleanup) and, on Linux, the
// child process dies with the test binary even if the test is killed.
//
// CI installs redis-server; a machine without it skips the tests that need
// it, saying so (see [Redis]). NATS and Kafka run inside the test process
// and listen on loopback, so worker processes started by a test can reach
// them too.
package testserver
