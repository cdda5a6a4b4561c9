// Command idle is the smallest long-running toil service: a function that
// waits for SIGTERM. The framework benchmarks measure its memory.
package main

import (
	"context"

	"github.com/toilhq/toil"
)

func idle(ctx context.Context, s *toil.S) error {
	s.Log.Info("idle until SIGTERM")
	<-ctx.Done()
	return nil
}

func main() { toil.Main("bench.idle", idle) }
