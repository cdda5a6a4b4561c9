package queue

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// The Kafka backend: a small watermill Publisher and Subscriber on
// franz-go, instead of watermill-kafka (which is built on sarama). franz-go
// is what toil's tests run against (kfake, its in-process cluster, is by
// the same author and tested with it), it needs no sarama dependency tree,
// and it gives direct control of the one thing at-least-once hinges on
// here: an offset is marked for commit only after the handler's ack, in
// partition order, and marks are committed before a partition is given
// up in a rebalance.
//
// A topic is a Kafka topic, created with `partitions` partitions (URL
// query, default 6) when missing; a group is a Kafka consumer group; each
// member of a service's workers is a group member. A member that dies
// loses its partitions after the session timeout (redeliver_after); the
// member that gets them resumes from the last committed offset.

type kafkaBackend struct {
	seeds      []string
	partitions int32
	cl         *kgo.Client // producing and admin
	adm        *kadm.Client
	pub        *kafkaPublisher
	log        *slog.Logger
}

const kafkaIDHeader = "_watermill_message_uuid"

func parseKafkaURL(rawURL string) (seeds []string, partitions int32, err error) {
	rest := strings.TrimPrefix(rawURL, "kafka://")
	hosts, query, _ := strings.Cut(rest, "?")
	hosts = strings.TrimSuffix(hosts, "/")
	if strings.Contains(hosts, "@") {
		return nil, 0, errors.New("credentials in a kafka:// URL are not supported yet (no SASL); use a listener without authentication")
	}
	for _, h := range strings.Split(hosts, ",") {
		if h = strings.TrimSpace(h); h != "" {
			seeds = append(seeds, h)
		}
	}
	if len(seeds) == 0 {
		return nil, 0, errors.New("no brokers: want kafka://HOST:PORT[,HOST:PORT]")
	}
	partitions = 6
	q, err := url.ParseQuery(query)
	if err != nil {
		return nil, 0, fmt.Errorf("query %q: %w", query, err)
	}
	for k := range q {
		if k != "partitions" {
			return nil, 0, fmt.Errorf("unknown URL parameter %q; kafka:// takes partitions=N", k)
		}
	}
	if p := q.Get("partitions"); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 {
			return nil, 0, fmt.Errorf("partitions=%q: want a number from 1", p)
		}
		partitions = int32(n)
	}
	return seeds, partitions, nil
}

func dialKafka(ctx context.Context, rawURL string, log *slog.Logger) (backend, error) {
	seeds, partitions, err := parseKafkaURL(rawURL)
	if err != nil {
		return nil, permanentError{err}
	}
	cl, err := kgo.NewClient(
		kgo.SeedBrokers(seeds...),
		// Publish is synchronous: lingering would add its delay to each.
		kgo.ProducerLinger(0),
	)
	if err != nil {
		return nil, err
	}
	if err := cl.Ping(ctx); err != nil {
		cl.Close()
		return nil, err
	}
	return &kafkaBackend{
		seeds: seeds, partitions: partitions, cl: cl, adm: kadm.NewClient(cl),
		pub: &kafkaPublisher{cl: cl}, log: log,
	}, nil
}

func (k *kafkaBackend) publisher() message.Publisher { return k.pub }

func (k *kafkaBackend) ensureTopic(ctx context.Context, topic string) error {
	_, err := k.adm.CreateTopic(ctx, k.partitions, -1, nil, topic)
	if err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
		return fmt.Errorf("create topic %s: %w", topic, err)
	}
	return nil
}

// ensureGroup only makes the topic: a group comes into being when its
// first member joins, and a new group starts at the topic's beginning.
func (k *kafkaBackend) ensureGroup(ctx context.Context, topic, group string, o subOptions) error {
	return k.ensureTopic(ctx, topic)
}

func (k *kafkaBackend) subscribe(ctx context.Context, topic, group string, o subOptions) (<-chan *message.Message, func(), error) {
	cl, err := kgo.NewClient(
		kgo.SeedBrokers(k.seeds...),
		kgo.ClientID(o.consumer),
		kgo.ConsumerGroup(group),
		kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.SessionTimeout(o.redeliverAfter),
		kgo.HeartbeatInterval(min(max(o.redeliverAfter/5, 100*time.Millisecond), 3*time.Second)),
		// Members rejoin at once (nothing blocks a rebalance), so a
		// rebalance that waits longer is waiting for a member that died.
		kgo.RebalanceTimeout(max(2*o.redeliverAfter, 5*time.Second)),
		// On Kafka 4+ the broker assigns partitions (KIP-848 groups, whose
		// session timeout is the broker's group.consumer.session.timeout.ms);
		// older brokers get the classic cooperative-sticky protocol.
		kgo.Balancers(kgo.CooperativeStickyBalancer()),
		kgo.ServerSideBalancer(),
		kgo.AutoCommitMarks(),
		// Commit often: what a killed member handled since its last commit
		// is handled again by the next owner of its partitions.
		kgo.AutoCommitInterval(time.Second),
		// A rebalance does not wait for the records in hand (blocking it
		// until they are done starved rebalances under a steady stream):
		// what was acked is committed as partitions move, and a record
		// handled after its partition moved is handled again by the new
		// owner, which at-least-once allows.
		kgo.OnPartitionsAssigned(func(_ context.Context, _ *kgo.Client, m map[string][]int32) {
			k.log.Debug("kafka partitions assigned", "member", o.consumer, "partitions", m[topic])
		}),
		kgo.OnPartitionsRevoked(func(ctx context.Context, cl *kgo.Client, m map[string][]int32) {
			k.log.Debug("kafka partitions revoked", "member", o.consumer, "partitions", m[topic])
			if err := cl.CommitMarkedOffsets(ctx); err != nil {
				k.log.Warn("commit before rebalance", "topic", topic, "group", group, "err", err)
			}
		}),
	)
	if err != nil {
		return nil, nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	out := make(chan *message.Message)
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(out)
		k.consume(ctx, cl, topic, out)
		cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := cl.CommitMarkedOffsets(cctx); err != nil {
			k.log.Warn("commit on stop", "topic", topic, "group", group, "err", err)
		}
		cl.Close() // leaves the group, so the others take over at once
	}()
	return out, func() { cancel(); <-done }, nil
}

func (k *kafkaBackend) consume(ctx context.Context, cl *kgo.Client, topic string, out chan<- *message.Message) {
	for {
		fs := cl.PollRecords(ctx, 256)
		if ctx.Err() != nil || fs.IsClientClosed() {
			return
		}
		fs.EachError(func(t string, p int32, err error) {
			k.log.Warn("kafka fetch", "topic", t, "partition", p, "err", err)
		})
		for it := fs.RecordIter(); !it.Done(); {
			r := it.Next()
			if !deliver(ctx, out, kafkaMessage(r)) {
				return
			}
			cl.MarkCommitRecords(r)
		}
	}
}

func kafkaMessage(r *kgo.Record) *message.Message {
	id := ""
	for _, h := range r.Headers {
		if h.Key == kafkaIDHeader {
			id = string(h.Value)
		}
	}
	if id == "" {
		id = fmt.Sprintf("%s/%d/%d", r.Topic, r.Partition, r.Offset)
	}
	m := message.NewMessage(id, r.Value)
	for _, h := range r.Headers {
		if h.Key != kafkaIDHeader {
			m.Metadata.Set(h.Key, string(h.Value))
		}
	}
	return m
}

// lag is, over the topic's partitions, the end offset less the group's
// committed offset (or the partition's start, where nothing is committed).
// kadm's Lag describes the group first, which KIP-848 groups do not answer.
func (k *kafkaBackend) lag(ctx context.Context, topic, group string) (int64, error) {
	ends, err := k.adm.ListEndOffsets(ctx, topic)
	if err != nil {
		return 0, err
	}
	if err := ends.Error(); err != nil {
		return 0, err
	}
	starts, err := k.adm.ListStartOffsets(ctx, topic)
	if err != nil {
		return 0, err
	}
	committed, err := k.adm.FetchOffsets(ctx, group)
	if err != nil {
		return 0, err
	}
	var lag int64
	ends.Each(func(end kadm.ListedOffset) {
		at := int64(0)
		if s, ok := starts.Lookup(topic, end.Partition); ok && s.Offset > 0 {
			at = s.Offset
		}
		if c, ok := committed.Lookup(topic, end.Partition); ok && c.Err == nil && c.At >= 0 {
			at = c.At
		}
		lag += max(end.Offset-at, 0)
	})
	return lag, nil
}

func (k *kafkaBackend) ping(ctx context.Context) error { return k.cl.Ping(ctx) }

func (k *kafkaBackend) close() error {
	k.cl.Close()
	return nil
}

// kafkaPublisher is watermill's Publisher on a franz-go client: the
// message id and metadata travel as record headers.
type kafkaPublisher struct{ cl *kgo.Client }

func (p *kafkaPublisher) Publish(topic string, msgs ...*message.Message) error {
	if len(msgs) == 0 {
		return nil
	}
	recs := make([]*kgo.Record, len(msgs))
	for i, m := range msgs {
		hs := make([]kgo.RecordHeader, 0, 1+len(m.Metadata))
		hs = append(hs, kgo.RecordHeader{Key: kafkaIDHeader, Value: []byte(m.UUID)})
		for k, v := range m.Metadata {
			hs = append(hs, kgo.RecordHeader{Key: k, Value: []byte(v)})
		}
		recs[i] = &kgo.Record{Topic: topic, Value: m.Payload, Headers: hs}
	}
	return p.cl.ProduceSync(msgs[0].Context(), recs...).FirstErr()
}

// Close does nothing: the backend owns the client.
func (p *kafkaPublisher) Close() error { return nil }
