package hello

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/toilhq/toil"
	"github.com/toilhq/toil/queue"
	"github.com/toilhq/toil/queue/queuetest"
	"github.com/toilhq/toil/toiltest"
)

// testConfig is the config the consumer needs to run in a test: its in:
// on an in-process bus of the test's own, and its fields'.
func testConfig(t testing.TB) string {
	return "in: {url: " + queuetest.MemURL(t) + ", topic: jobs}\n" + fieldsConfig(t)
}

// fieldsConfig is the config of the fields toil new --with adds, each on
// a real server of the test's own; every test that runs the service adds
// it. It has none yet.
func fieldsConfig(t testing.TB) string { return "" }

// producer publishes jobs onto the bus the consumer reads, as another
// service would.
type producer struct {
	toil.Base[struct{}]

	Out queue.Publisher[Job]
}

func TestConsumerHandlesPublishedJob(t *testing.T) {
	t.Parallel()
	url := queuetest.MemURL(t)
	endpoint := "{url: " + url + ", topic: jobs}"
	c := &Consumer{}
	handled := make(chan Job, 1)
	// Handler, when set, is called instead of OnMessage: this one calls
	// OnMessage and says when it has returned.
	c.In.Handler = func(ctx context.Context, j Job) error {
		err := c.OnMessage(ctx, j)
		if err == nil {
			handled <- j
		}
		return err
	}
	toiltest.Run(t, c, toiltest.Config("in: "+endpoint+"\n"+fieldsConfig(t))).WaitReady()
	p := &producer{}
	toiltest.Run(t, p, toiltest.Name("test.producer"), toiltest.Config("out: "+endpoint)).WaitReady()

	want := Job{ID: "j1", Task: "resize"}
	if err := p.Out.Publish(context.Background(), want); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	select {
	case got := <-handled:
		if got != want {
			t.Errorf("OnMessage got %+v, want %+v", got, want)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the published job never reached OnMessage")
	}
}

func TestOnMessageRejectsJobWithoutID(t *testing.T) {
	t.Parallel()
	c := &Consumer{}
	err := c.OnMessage(context.Background(), Job{Task: "resize"})
	if err == nil || !strings.Contains(err.Error(), "no id") {
		t.Fatalf("OnMessage(job without id) = %v, want an error saying it has no id", err)
	}
}
