// Package hello is a data pipeline service: `toil run hello.ingest` takes
// each message of its topic through Parse → Compute → Publish, built from
// package pipeline's parts, and appends the result to a JSON Lines file.
package hello

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/toilhq/toil"
	"github.com/toilhq/toil/pipeline"
	"github.com/toilhq/toil/queue"
)

// Event is one record as producers send it, JSON-encoded: replace it with
// the service's own.
type Event struct {
	User   string `json:"user"`
	Action string `json:"action"`
}

// Config is the pipeline's config: its section of toil.config.yaml, keyed
// by its name in toil.yaml (hello-ingest), TOIL_HELLO_INGEST_* in the
// environment, or --flags. The queue field's own settings are under in:
// (url or backend, topic, ...); mem://NAME needs no server, backend: nats
// takes NATS_URL.
type Config struct {
	File string `default:"events.jsonl" help:"the JSON Lines file the pipeline appends its records to"`
}

// Validate rejects a config the pipeline cannot run with.
func (c *Config) Validate() error {
	if strings.TrimSpace(c.File) == "" {
		return errors.New("file is empty: name the file to append records to, e.g. file: events.jsonl")
	}
	return nil
}

// parse is the pipeline's first stage: Strict, so a field renamed upstream
// fails loudly instead of arriving empty.
var parse = pipeline.JSON[Event]{Strict: true}

// normalize is the compute stage: replace it with the service's own.
// Events without a user are dropped; the rest are lower-cased.
var normalize = pipeline.ComputeFunc[Event, Event](func(ctx context.Context, e Event) (Event, error) {
	if e.User == "" {
		return Event{}, pipeline.ErrSkip
	}
	if e.Action == "" {
		return Event{}, fmt.Errorf("event of user %s has no action", e.User)
	}
	return Event{User: strings.ToLower(e.User), Action: strings.ToLower(e.Action)}, nil
})

// Ingest runs each message of in: through the pipeline.
type Ingest struct {
	toil.Base[Config]

	In queue.Consumer[[]byte] // config under in:; use codec: raw, the pipeline parses

	sink *pipeline.FilePublisher[Event]
	pipe *pipeline.Pipeline[[]byte, Event, Event]
}

// Setup opens the output file and assembles the pipeline.
func (s *Ingest) Setup(ctx context.Context) error {
	out, err := pipeline.OpenFile[Event](s.Config().File)
	if err != nil {
		return fmt.Errorf("open file %s: %w", s.Config().File, err)
	}
	s.sink = out
	s.pipe = newPipeline(out)
	return nil
}

// newPipeline assembles the stages in front of out, the publisher.
func newPipeline(out pipeline.Publisher[Event]) *pipeline.Pipeline[[]byte, Event, Event] {
	return pipeline.New(parse, normalize, out)
}

// OnMessage processes one message. A parse or compute error will fail
// again on a retry, so the message is logged and acknowledged; a publish
// error is returned, so the queue retries it.
func (s *Ingest) OnMessage(ctx context.Context, msg []byte) error {
	err := s.pipe.Process(ctx, msg)
	if err != nil && pipeline.Stage(err) != "publish" {
		s.Log.WarnContext(ctx, "record dropped", "stage", pipeline.Stage(err), "error", err)
		return nil
	}
	return err
}

// Stop closes the output file once the consumer has stopped.
func (s *Ingest) Stop(ctx context.Context) error {
	if s.sink == nil {
		return nil
	}
	return s.sink.Close()
}
