// Package queue gives services typed message queues on watermill:
// [Publisher] and [Consumer] are mixins, named fields of a struct service.
//
//	type Scorer struct {
//		toil.Base[Config]
//
//		In  queue.Consumer[AdBatch]   // config under in:
//		Out queue.Publisher[ScoredAds] // config under out:
//	}
//
//	func (s *Scorer) OnMessage(ctx context.Context, b AdBatch) error {
//		return s.Out.Publish(ctx, score(b))
//	}
//
// with, in the service's config:
//
//	tempest.scorer:
//	  in:  {backend: nats, topic: ads.batches, max_attempts: 5}
//	  out: {backend: nats, topic: ads.scored}
//
// # Config
//
// Both fields take url, backend, topic and codec (json, the default; raw
// for []byte and string values; or one added with [RegisterCodec]). A
// Consumer also takes group (default: the service name), max_attempts (5),
// backoff.initial and backoff.max (100ms doubling up to 5s), dead_letter
// (default <topic>.dlq), concurrency (messages one worker handles at once,
// 1) and redeliver_after (30s). See [PublisherConfig] and
// [ConsumerConfig]. max_attempts and backoff change on a live reload; the
// rest needs a restart, and a reload that changes them is rejected.
//
// # Backends
//
// The url's scheme picks the backend; without a url, backend names it and
// the worker protocol's variable gives the URL; with neither, NATS_URL is
// used if set:
//
//	mem://NAME                  in-process (watermill's GoChannel): tests, one process
//	nats://HOST:4222            NATS JetStream (watermill-nats), or NATS_URL
//	redis://HOST:6379/0         Redis streams (watermill-redisstream's publisher and format), or REDIS_URL
//	kafka://HOST:9092[,HOST...] Kafka (franz-go), or KAFKA_BROKERS; ?partitions=N for new topics (6)
//
// mem:// keeps every message of a bus in memory for as long as the process
// runs (or until [CloseMem]); a group subscribing late still gets them.
// NATS topics are streams (created with default limits when missing;
// '.' becomes '_' in stream and subject names) and groups are durable pull
// consumers. Redis groups start at the stream's beginning; Redis consuming
// is toil's own (batched XREADGROUP, one XACK per batch, XAUTOCLAIM of a
// dead member's entries) rather than watermill-redisstream's subscriber,
// which reads and acks one entry per round trip and stops at an entry it
// cannot read. Kafka topics are created when missing; Kafka support is
// franz-go rather than watermill-kafka's sarama, for control of when
// offsets are committed; on Kafka 4+ its groups are KIP-848 groups, whose
// session timeout is the broker's group.consumer.session.timeout.ms
// rather than redeliver_after.
//
// At setup an unreachable backend is retried until the setup timeout, then
// the error names the URL with its credentials hidden; an unknown scheme is
// an error listing the supported ones.
//
// # Delivery
//
// At least once. A message is acknowledged only after the handler returns
// nil; an error or a panic is retried with backoff, and after max_attempts
// the message goes to the dead-letter topic, carrying the original
// payload and metadata plus [MetaReason], [MetaError], [MetaAttempts],
// [MetaTopic], [MetaGroup] and [MetaService], and is acknowledged. A
// message that cannot be decoded (by the codec, or a foreign producer's
// entry the backend cannot read) goes to the dead-letter topic at once,
// with the reason: never a crash, never a silent drop. The handler's ctx
// carries the message's id, attempt and metadata ([MessageFrom]).
//
// The workers of a service (toil dev's procs, systemd instances, pods)
// share the consumer group: each message goes to one of them. A worker
// killed with messages in hand leaves them unacknowledged; the backend
// hands them to another worker after redeliver_after (NATS's ack wait, the
// idle time after which Redis entries are claimed, Kafka's session
// timeout). So a handler, with its retries, must finish within
// redeliver_after, or its message is handled twice; config validation
// rejects retry settings whose waits alone exceed it.
//
// # Metrics
//
// toil_queue_published_total, toil_queue_publish_errors_total,
// toil_queue_consumed_total, toil_queue_acked_total,
// toil_queue_retried_total, toil_queue_dead_lettered_total{reason},
// toil_queue_handler_seconds, all labelled with field and topic, and
// toil_queue_lag{field,topic,group}: messages not yet acknowledged by the
// group, asked of the backend at each scrape (NATS, Redis 7+ and Kafka
// tell; mem does not). Each field adds a "backend" check to /readyz.
//
// # Tests
//
// The package's tests run every backend for real: redis-server from PATH
// on a free port, an embedded nats-server with JetStream, and Kafka through
// franz-go's kfake, an in-process cluster that speaks the Kafka protocol
// (no Kafka broker package runs on the test machines). The helpers are in
// internal/testserver.
package queue
