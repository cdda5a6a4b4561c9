package hello

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/toilhq/toil"
	"github.com/toilhq/toil/pipeline/pipelinetest"
	"github.com/toilhq/toil/queue"
	"github.com/toilhq/toil/queue/queuetest"
	"github.com/toilhq/toil/toiltest"
)

// Each stage's cases test it alone; Compose chains them (a parse case's
// Want is a compute case's In, and so on) into the end-to-end cases of the
// assembled pipeline, so adding a case to a stage tests the whole too.

var parseCases = []pipelinetest.ParserCase[[]byte, Event]{
	{Name: "signup", In: []byte(`{"user":"Ann","action":"SignUp"}`), Want: Event{User: "Ann", Action: "SignUp"}},
	{Name: "anonymous", In: []byte(`{"action":"view"}`), Want: Event{Action: "view"}},
	{Name: "no action", In: []byte(`{"user":"bob"}`), Want: Event{User: "bob"}},
	{Name: "truncated", In: []byte(`{"user":`), WantErr: "line 1"},
	{Name: "renamed field", In: []byte(`{"username":"ann"}`), WantErr: "username"},
}

var computeCases = []pipelinetest.ComputerCase[Event, Event]{
	{Name: "lower-cased", In: Event{User: "Ann", Action: "SignUp"}, Want: Event{User: "ann", Action: "signup"}},
	{Name: "dropped", In: Event{Action: "view"}, Skip: true},
	{Name: "rejected", In: Event{User: "bob"}, WantErr: "no action"},
}

var publishCases = []pipelinetest.PublisherCase[Event, string]{
	{Name: "one line", In: Event{User: "ann", Action: "signup"}, Want: `{"user":"ann","action":"signup"}`},
}

func TestParse(t *testing.T) {
	t.Parallel()
	pipelinetest.Parser(t, parse, parseCases)
}

func TestNormalize(t *testing.T) {
	t.Parallel()
	pipelinetest.Computer(t, normalize, computeCases)
}

func TestFilePublisher(t *testing.T) {
	t.Parallel()
	pipelinetest.Publisher(t, pipelinetest.FileSink[Event](t), publishCases)
}

func TestPipeline(t *testing.T) {
	t.Parallel()
	sink := pipelinetest.FileSink[Event](t)
	p := newPipeline(sink.Publisher)
	pipelinetest.Pipeline(t, p, sink, pipelinetest.Compose(parseCases, computeCases, publishCases))
}

// testConfig is the config Ingest needs to run in a test: its file in a
// temp dir, its in: on an in-process bus of the test's own, and its
// fields'.
func testConfig(t testing.TB) string {
	return "file: " + filepath.Join(t.TempDir(), "events.jsonl") + "\nin: {url: " + queuetest.MemURL(t) + ", topic: events, codec: raw}\n" + fieldsConfig(t)
}

// fieldsConfig is the config of the fields toil new --with adds, each on
// a real server of the test's own; every test that runs the service adds
// it. It has none yet.
func fieldsConfig(t testing.TB) string { return "" }

// producer sends raw messages onto the bus Ingest reads, as another
// service would.
type producer struct {
	toil.Base[struct{}]

	Out queue.Publisher[[]byte]
}

func TestIngestAppendsConsumedEvent(t *testing.T) {
	t.Parallel()
	endpoint := "{url: " + queuetest.MemURL(t) + ", topic: events, codec: raw}"
	out := filepath.Join(t.TempDir(), "events.jsonl")
	s := &Ingest{}
	handled := make(chan error, 1)
	// Handler, when set, is called instead of OnMessage: this one calls
	// OnMessage and says when it has returned.
	s.In.Handler = func(ctx context.Context, msg []byte) error {
		err := s.OnMessage(ctx, msg)
		handled <- err
		return err
	}
	toiltest.Run(t, s, toiltest.Config("file: "+out+"\nin: "+endpoint+"\n"+fieldsConfig(t))).WaitReady()
	p := &producer{}
	toiltest.Run(t, p, toiltest.Name("test.producer"), toiltest.Config("out: "+endpoint)).WaitReady()

	if err := p.Out.Publish(context.Background(), []byte(`{"user":"Ann","action":"Login"}`)); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	select {
	case err := <-handled:
		if err != nil {
			t.Fatalf("OnMessage: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the published event never reached OnMessage")
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if want := "{\"user\":\"ann\",\"action\":\"login\"}\n"; string(got) != want {
		t.Errorf("%s = %q, want %q", out, got, want)
	}
}
