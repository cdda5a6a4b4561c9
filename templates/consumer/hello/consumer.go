// Package hello is a queue consumer service: `toil run hello.consumer`
// hands each message of its topic to OnMessage until it is stopped.
package hello

import (
	"context"
	"fmt"

	"github.com/toilhq/toil"
	"github.com/toilhq/toil/queue"
)

// Job is one message of the topic, JSON-encoded on the wire: replace it
// with the service's own.
type Job struct {
	ID   string `json:"id"`
	Task string `json:"task"`
}

// Config is the consumer's config: its section of toil.config.yaml, keyed
// by its name in toil.yaml (hello-consumer), TOIL_HELLO_CONSUMER_* in the
// environment, or --flags. The queue field's own settings are under in:
// (url or backend, topic, max_attempts, ...): mem://NAME runs in the
// process with no server; nats://, redis:// and kafka:// URLs, or backend:
// nats and NATS_URL, use one.
type Config struct {
	Prefix string `default:"done" help:"what the log line of a handled job starts with"`
}

// Consumer handles the jobs of its topic through the queue mixin: retries
// with backoff, a dead-letter topic, metrics and a drain on stop come with
// it.
type Consumer struct {
	toil.Base[Config]

	In queue.Consumer[Job] // config under in:
}

// OnMessage handles one job. An error retries it with backoff and, after
// in.max_attempts, sends it to the dead-letter topic; nil acknowledges it.
func (c *Consumer) OnMessage(ctx context.Context, j Job) error {
	if j.ID == "" {
		return fmt.Errorf("job %+v has no id: the producer must set one", j)
	}
	c.Log.InfoContext(ctx, c.Config().Prefix, "job", j.ID, "task", j.Task)
	return nil
}
