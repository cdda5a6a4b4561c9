package pipeline_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/toilhq/toil"
	"github.com/toilhq/toil/pipeline"
	"github.com/toilhq/toil/pipeline/pipelinetest"
	"github.com/toilhq/toil/queue"
	"github.com/toilhq/toil/queue/queuetest"
	"github.com/toilhq/toil/toiltest"
)

// A queue publisher is a pipeline publisher as it is.
var _ pipeline.Publisher[record] = (*queue.Publisher[record])(nil)

// outService holds the queue publisher the pipeline publishes through.
type outService struct {
	toil.Base[struct{}]

	Out queue.Publisher[record]
}

// collector reads the topic raw: what a consumer in another service gets.
type collector struct {
	toil.Base[struct{}]

	In  queue.Consumer[[]byte]
	got chan string
}

func (c *collector) OnMessage(ctx context.Context, b []byte) error {
	c.got <- string(b)
	return nil
}

// queueSink is a sink around a queue.Publisher on an in-process bus. Take
// waits for as many messages as Publish has sent since its last call.
func queueSink(t *testing.T) pipelinetest.Sink[record, string] {
	url := queuetest.MemURL(t)
	out := &outService{}
	toiltest.Run(t, out, toiltest.Name("test.out"), toiltest.Config("out: {url: "+url+", topic: signups}")).WaitReady()
	col := &collector{got: make(chan string, 64)}
	toiltest.Run(t, col, toiltest.Name("test.collect"), toiltest.Config("in: {url: "+url+", topic: signups, codec: raw}")).WaitReady()

	var sent, taken atomic.Int64
	return pipelinetest.Sink[record, string]{
		Publisher: pipeline.PublishFunc[record](func(ctx context.Context, r record) error {
			err := out.Out.Publish(ctx, r)
			if err == nil {
				sent.Add(1)
			}
			return err
		}),
		Take: func() ([]string, error) {
			var got []string
			for taken.Load() < sent.Load() {
				select {
				case m := <-col.got:
					got = append(got, m)
					taken.Add(1)
				case <-time.After(10 * time.Second):
					return got, fmt.Errorf("%d of %d published messages never arrived", sent.Load()-taken.Load(), sent.Load())
				}
			}
			return got, nil
		},
	}
}

func TestQueuePublisher(t *testing.T) {
	t.Parallel()
	pipelinetest.Publisher(t, queueSink(t), publishCases)
}

func TestPipelineToQueue(t *testing.T) {
	t.Parallel()
	sink := queueSink(t)
	p := pipeline.New(pipeline.JSON[record]{}, computeStage(t), sink.Publisher)
	pipelinetest.Pipeline(t, p, sink, pipelinetest.Compose(jsonCases, stageCases, publishCases))
}
