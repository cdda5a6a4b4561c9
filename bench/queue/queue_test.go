// Package queue_test measures the queue mixins' throughput against the raw
// clients doing the same work: publish 1 KB messages, consume them in a
// consumer group and acknowledge each one. See README.md for the command
// and the recorded results.
package queue_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/pubsub/gochannel"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	goredis "github.com/redis/go-redis/v9"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/toilhq/toil"
	"github.com/toilhq/toil/internal/testserver"
	"github.com/toilhq/toil/queue"
)

const size = 1024 // bytes per message

var seq atomic.Int64

func topicName() string { return fmt.Sprintf("bench%d", seq.Add(1)) }

// BenchmarkQueue runs, per backend, the mixin and the raw client side by
// side. One op is one message published, consumed and acknowledged;
// msgs/s is the end-to-end rate (publisher and consumer run concurrently).
func BenchmarkQueue(b *testing.B) {
	natsSrv := testserver.NATS(b)
	redisSrv := testserver.Redis(b)
	kafka := testserver.Kafka(b)
	for _, bk := range []struct {
		name string
		url  string
		raw  func(b *testing.B, n int)
	}{
		{"mem", "mem://bench", rawMem},
		{"nats", natsSrv.URL(), func(b *testing.B, n int) { rawNATS(b, natsSrv.URL(), n) }},
		{"redis", redisSrv.URL(), func(b *testing.B, n int) { rawRedis(b, redisSrv.Addr(), n) }},
		{"kafka", kafka.URL(), func(b *testing.B, n int) { rawKafka(b, kafka.Brokers(), n) }},
	} {
		b.Run(bk.name+"/mixin", func(b *testing.B) { mixin[[]byte](b, bk.url, "raw", 1, b.N) })
		b.Run(bk.name+"/mixin-json", func(b *testing.B) { mixin[doc](b, bk.url, "json", 1, b.N) })
		b.Run(bk.name+"/mixin-c4", func(b *testing.B) { mixin[[]byte](b, bk.url, "raw", 4, b.N) })
		b.Run(bk.name+"/raw", func(b *testing.B) { bk.raw(b, b.N) })
		if bk.name == "redis" {
			// watermill-redisstream reads one entry per XREADGROUP: the raw
			// client with the same access pattern shows what that costs.
			b.Run("redis/raw-count1", func(b *testing.B) { rawRedisCount(b, redisSrv.Addr(), 1, b.N) })
		}
	}
}

// doc is a ~1 KB JSON message.
type doc struct {
	ID   int    `json:"id"`
	Body string `json:"body"`
}

type bench[T any] struct {
	toil.Base[struct{}]

	In  queue.Consumer[T]
	Out queue.Publisher[T]

	n    int64
	got  atomic.Int64
	done chan struct{}
}

func (s *bench[T]) OnMessage(ctx context.Context, v T) error {
	if s.got.Add(1) == s.n {
		close(s.done)
	}
	return nil
}

func payload() []byte { return []byte(strings.Repeat("x", size)) }

func value[T any](i int) T {
	var v any
	switch any(*new(T)).(type) {
	case []byte:
		v = payload()
	case doc:
		v = doc{ID: i, Body: strings.Repeat("x", size-24)}
	}
	return v.(T)
}

func mixin[T any](b *testing.B, url, codec string, concurrency, n int) {
	topic := topicName()
	svc := &bench[T]{n: int64(n), done: make(chan struct{})}
	ctl := toil.NewControl()
	ctx, cancel := context.WithCancel(context.Background())
	ended := make(chan error, 1)
	go func() {
		ended <- toil.Run(ctx, "bench.queue", svc,
			toil.WithEnv("LOG_LEVEL=warn"), toil.WithLogOutput(io.Discard), toil.WithAdminAddr(""), toil.WithConfigFile(""), toil.WithControl(ctl),
			toil.WithArgs("--in.url="+url, "--in.topic="+topic, "--in.codec="+codec, fmt.Sprintf("--in.concurrency=%d", concurrency),
				"--out.url="+url, "--out.topic="+topic, "--out.codec="+codec))
	}()
	defer func() {
		cancel()
		if err := <-ended; err != nil {
			b.Errorf("service: %v", err)
		}
	}()
	select {
	case <-ctl.Ready():
	case err := <-ended:
		b.Fatalf("service ended: %v", err)
	}
	vals := make([]T, 16)
	for i := range vals {
		vals[i] = value[T](i)
	}
	b.SetBytes(size)
	b.ResetTimer()
	start := time.Now()
	var pub sync.WaitGroup
	pub.Go(func() {
		for i := range n {
			if err := svc.Out.Publish(context.Background(), vals[i%len(vals)]); err != nil {
				b.Errorf("publish: %v", err)
				return
			}
		}
	})
	<-svc.done
	b.ReportMetric(float64(n)/time.Since(start).Seconds(), "msgs/s")
	b.StopTimer()
	pub.Wait()
}

func rawMem(b *testing.B, n int) {
	gc := gochannel.NewGoChannel(gochannel.Config{Persistent: true}, nil)
	defer gc.Close()
	topic := topicName()
	ch, err := gc.Subscribe(context.Background(), topic)
	if err != nil {
		b.Fatal(err)
	}
	p := payload()
	b.SetBytes(size)
	b.ResetTimer()
	start := time.Now()
	var pub sync.WaitGroup
	pub.Go(func() {
		for range n {
			if err := gc.Publish(topic, message.NewMessage("id", p)); err != nil {
				b.Errorf("publish: %v", err)
				return
			}
		}
	})
	for range n {
		m := <-ch
		m.Ack()
	}
	b.ReportMetric(float64(n)/time.Since(start).Seconds(), "msgs/s")
	b.StopTimer()
	pub.Wait()
}

// rawNATS publishes with js.Publish (waiting for each ack, as the mixin
// does) and consumes from a durable pull consumer with Consume, acking
// each message.
func rawNATS(b *testing.B, url string, n int) {
	ctx := context.Background()
	nc, err := nats.Connect(url)
	if err != nil {
		b.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		b.Fatal(err)
	}
	topic := topicName()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: topic, Subjects: []string{topic}}); err != nil {
		b.Fatal(err)
	}
	cons, err := js.CreateOrUpdateConsumer(ctx, topic, jetstream.ConsumerConfig{Durable: "g", AckPolicy: jetstream.AckExplicitPolicy})
	if err != nil {
		b.Fatal(err)
	}
	p := payload()
	done := make(chan struct{})
	var got atomic.Int64
	b.SetBytes(size)
	b.ResetTimer()
	start := time.Now()
	cc, err := cons.Consume(func(m jetstream.Msg) {
		_ = m.Ack()
		if got.Add(1) == int64(n) {
			close(done)
		}
	}, jetstream.PullMaxMessages(128))
	if err != nil {
		b.Fatal(err)
	}
	defer cc.Stop()
	var pub sync.WaitGroup
	pub.Go(func() {
		for range n {
			if _, err := js.Publish(ctx, topic, p); err != nil {
				b.Errorf("publish: %v", err)
				return
			}
		}
	})
	<-done
	b.ReportMetric(float64(n)/time.Since(start).Seconds(), "msgs/s")
	b.StopTimer()
	pub.Wait()
}

// rawRedis publishes with XADD and consumes with XREADGROUP (up to 100
// entries a call), acking each entry with XACK.
func rawRedis(b *testing.B, addr string, n int) { rawRedisCount(b, addr, 100, n) }

func rawRedisCount(b *testing.B, addr string, count int64, n int) {
	ctx := context.Background()
	rc := goredis.NewClient(&goredis.Options{Addr: addr})
	defer rc.Close()
	topic := topicName()
	if err := rc.XGroupCreateMkStream(ctx, topic, "g", "0").Err(); err != nil {
		b.Fatal(err)
	}
	p := payload()
	b.SetBytes(size)
	b.ResetTimer()
	start := time.Now()
	var pub sync.WaitGroup
	pub.Go(func() {
		for range n {
			if err := rc.XAdd(ctx, &goredis.XAddArgs{Stream: topic, Values: map[string]any{"payload": p}}).Err(); err != nil {
				b.Errorf("xadd: %v", err)
				return
			}
		}
	})
	for got := 0; got < n; {
		res, err := rc.XReadGroup(ctx, &goredis.XReadGroupArgs{Group: "g", Consumer: "c", Streams: []string{topic, ">"}, Count: count, Block: 100 * time.Millisecond}).Result()
		if errors.Is(err, goredis.Nil) {
			continue
		}
		if err != nil {
			b.Fatal(err)
		}
		for _, m := range res[0].Messages {
			if err := rc.XAck(ctx, topic, "g", m.ID).Err(); err != nil {
				b.Fatal(err)
			}
			got++
		}
	}
	b.ReportMetric(float64(n)/time.Since(start).Seconds(), "msgs/s")
	b.StopTimer()
	pub.Wait()
}

// rawKafka produces with ProduceSync (one record a call, as the mixin
// publishes) and consumes in a group, marking each record for commit.
func rawKafka(b *testing.B, brokers string, n int) {
	ctx := context.Background()
	topic := topicName()
	prod, err := kgo.NewClient(kgo.SeedBrokers(strings.Split(brokers, ",")...), kgo.ProducerLinger(0))
	if err != nil {
		b.Fatal(err)
	}
	defer prod.Close()
	if _, err := kadm.NewClient(prod).CreateTopic(ctx, 6, -1, nil, topic); err != nil {
		b.Fatal(err)
	}
	cons, err := kgo.NewClient(kgo.SeedBrokers(strings.Split(brokers, ",")...), kgo.ConsumerGroup("g"), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.AutoCommitMarks())
	if err != nil {
		b.Fatal(err)
	}
	defer cons.Close()
	p := payload()
	b.SetBytes(size)
	b.ResetTimer()
	start := time.Now()
	var pub sync.WaitGroup
	pub.Go(func() {
		for range n {
			if err := prod.ProduceSync(ctx, &kgo.Record{Topic: topic, Value: p}).FirstErr(); err != nil {
				b.Errorf("produce: %v", err)
				return
			}
		}
	})
	for got := 0; got < n; {
		fs := cons.PollRecords(ctx, 256)
		fs.EachRecord(func(r *kgo.Record) {
			cons.MarkCommitRecords(r)
			got++
		})
	}
	b.ReportMetric(float64(n)/time.Since(start).Seconds(), "msgs/s")
	b.StopTimer()
	pub.Wait()
}
