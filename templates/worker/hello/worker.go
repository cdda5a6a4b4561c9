// Package hello is a worker service: `toil run hello.worker` runs its loop
// until it is stopped.
package hello

import (
	"context"
	"fmt"
	"time"

	"github.com/toilhq/toil"
)

// Config is the worker's config: its section of toil.config.yaml, keyed by
// its name in toil.yaml (hello-worker), TOIL_HELLO_WORKER_* in the
// environment, or --flags.
type Config struct {
	Interval time.Duration `default:"1s" help:"time between two rounds of work"`
}

// Validate rejects a config the worker cannot run with; toil calls it on
// every load, and a reload that fails it keeps the old config.
func (c *Config) Validate() error {
	if c.Interval <= 0 {
		return fmt.Errorf("interval is %s: want a duration above 0, e.g. 1s", c.Interval)
	}
	return nil
}

// Worker does a round of work every interval until it is stopped.
type Worker struct {
	toil.Base[Config]

	rounds int
}

// Run is the worker's loop; its context is cancelled on SIGTERM.
func (w *Worker) Run(ctx context.Context) error {
	for {
		// The config is read each round so a reload takes effect at once.
		t := time.NewTimer(w.Config().Interval)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
		if err := w.round(ctx); err != nil {
			return err
		}
	}
}

// round is one unit of work: replace it with the service's own.
func (w *Worker) round(ctx context.Context) error {
	w.rounds++
	w.Log.InfoContext(ctx, "round done", "rounds", w.rounds)
	return nil
}
