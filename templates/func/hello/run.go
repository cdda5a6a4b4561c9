// Package hello is a function service: `toil run hello.run` runs it, once.
package hello

import (
	"context"

	"github.com/toilhq/toil"
)

// Run is the whole service. toil gives it a logger, stats, switches and its
// config section (in toil.config.yaml, keyed by its name in toil.yaml,
// hello-run; TOIL_HELLO_RUN_* in the environment; or --flags); returning
// nil ends the worker successfully.
func Run(ctx context.Context, s *toil.S) error {
	greeting := s.Config.String("greeting")
	if greeting == "" {
		greeting = "hello"
	}
	s.Log.Info("ran", "greeting", greeting)
	return nil
}
