package testserver

import (
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
)

// KafkaCluster is franz-go's kfake: a Kafka cluster that speaks the wire
// protocol, in the test process, on loopback ports. No Kafka broker
// package runs on this machine; kfake is what toil tests Kafka against.
type KafkaCluster struct {
	c *kfake.Cluster
}

// Kafka starts a one-broker kfake cluster and closes it when the test
// ends. Consumer groups may use session timeouts down to 500ms, so a test
// that kills a member sees its partitions move quickly.
func Kafka(t testing.TB, opts ...kfake.Opt) *KafkaCluster {
	t.Helper()
	base := []kfake.Opt{
		kfake.NumBrokers(1),
		kfake.GroupMinSessionTimeout(500 * time.Millisecond),
		// KIP-848 groups: the broker's session timeout decides how soon a
		// killed member's partitions move.
		kfake.BrokerConfigs(map[string]string{
			"group.consumer.session.timeout.ms":    "2000",
			"group.consumer.heartbeat.interval.ms": "250",
		}),
	}
	c, err := kfake.NewCluster(append(base, opts...)...)
	if err != nil {
		t.Fatalf("testserver: kfake: %v", err)
	}
	t.Cleanup(c.Close)
	return &KafkaCluster{c: c}
}

// Brokers is the comma-separated broker list, as KAFKA_BROKERS holds it.
func (k *KafkaCluster) Brokers() string { return strings.Join(k.c.ListenAddrs(), ",") }

// URL is the cluster's kafka:// URL.
func (k *KafkaCluster) URL() string { return "kafka://" + k.Brokers() }

// Cluster is the kfake cluster, for tests that inject faults.
func (k *KafkaCluster) Cluster() *kfake.Cluster { return k.c }
