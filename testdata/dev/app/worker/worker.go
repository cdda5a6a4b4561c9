// Package worker is the background service of toil dev's test fixture: it
// listens nowhere and runs until stopped.
package worker

import (
	"context"

	"github.com/toilhq/toil"
)

// Tick says it started, then waits to be stopped.
func Tick(ctx context.Context, s *toil.S) error {
	s.Log.Info("worker started", "version", "v1")
	<-ctx.Done()
	return nil
}
