// Package hello is the smallest toil service: `toil run hello.world` runs it.
package hello

import (
	"context"

	"github.com/toilhq/toil"
)

// World logs a greeting and returns: a function service, no main, no
// registration, no boilerplate.
func World(ctx context.Context, s *toil.S) error {
	s.Log.Info("hello world")
	return nil
}
