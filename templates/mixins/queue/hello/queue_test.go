package hello

import (
	"context"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/toilhq/toil"
	"github.com/toilhq/toil/queue"
	"github.com/toilhq/toil/toiltest"
)

// natsURLs holds each test's NATS server, so the service's config and the
// test's receiver meet on one.
var natsURLs sync.Map // testing.TB → string

// testNATS returns the URL of test t's NATS server (embedded, with
// JetStream), started at the first call.
func testNATS(t testing.TB) string {
	if url, ok := natsURLs.Load(t); ok {
		return url.(string)
	}
	url := toiltest.NATS(t)
	natsURLs.Store(t, url)
	t.Cleanup(func() { natsURLs.Delete(t) })
	return url
}

// outConfig is the config of the Out field in a test: the test's NATS
// server.
func outConfig(t testing.TB) string {
	return "out: {url: " + testNATS(t) + ", topic: test.out}\n"
}

// receiver reads what the service publishes, as another service would.
type receiver struct {
	toil.Base[struct{}]

	In queue.Consumer[Event]
}

// The Out publisher sends to the test's NATS server, where another service
// receives it.
func TestServicePublishes(t *testing.T) {
	t.Parallel()
	got := make(chan Event, 1)
	r := &receiver{}
	r.In.Handler = func(ctx context.Context, e Event) error {
		got <- e
		return nil
	}
	toiltest.Run(t, r, toiltest.Name("test.receiver"), toiltest.Config("in: {url: "+testNATS(t)+", topic: test.out}")).WaitReady()
	s := &Service{}
	toiltest.Run(t, s, toiltest.Config(testConfig(t))).WaitReady()

	var want Event // the zero value: set fields of the service's own type here
	if err := s.Out.Publish(context.Background(), want); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	select {
	case e := <-got:
		if !reflect.DeepEqual(e, want) {
			t.Errorf("received %+v, want %+v", e, want)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("what Out published never reached the receiver")
	}
}
