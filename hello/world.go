// Package hello is the smallest toil service: `toil run hello.world` runs it.
package hello

import (
	"context"

	"github.com/toilhq/toil"
)

// World logs a greeting and returns: a function service, no main, no
// registration, no boilerplate. `toil run hello.world -- --name=gopher`
// greets someone else.
func World(ctx context.Context, s *toil.S) error {
	name := s.Config.String("name")
	if name == "" {
		name = "world"
	}
	s.Log.Info("hello " + name)
	return nil
}
