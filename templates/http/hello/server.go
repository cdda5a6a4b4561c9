// Package hello is an HTTP service: `toil run hello.server` serves it on
// $PORT (or http.addr in its config), and toil dev serves it behind its proxy.
package hello

import (
	"context"
	"fmt"
	"net/http"

	"github.com/toilhq/toil"
)

// Config is the server's config: its section of toil.config.yaml, keyed by
// its name in toil.yaml (hello-server), TOIL_HELLO_SERVER_* in the
// environment, or --flags. The HTTP mixin's own settings are under http:.
type Config struct {
	Greeting string `default:"hello" help:"what GET /greet/{name} answers before the name"`
}

// Server answers HTTP requests through the HTTP mixin: limits, panic
// recovery, metrics and a graceful drain come with it.
type Server struct {
	toil.Base[Config]

	HTTP toil.HTTP // config under http:
}

// Setup registers the routes; it runs after the config is loaded and the
// socket is bound, before the first request.
func (s *Server) Setup(ctx context.Context) error {
	s.HTTP.HandleFunc("GET /{$}", s.index)
	s.HTTP.HandleFunc("GET /greet/{name}", s.greet)
	return nil
}

func (s *Server) index(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprintf(w, "%s is up\n", s.Service())
}

func (s *Server) greet(w http.ResponseWriter, r *http.Request) {
	// One Config() per request: a reload mid-request cannot mix two configs.
	cfg := s.Config()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprintf(w, "%s, %s\n", cfg.Greeting, r.PathValue("name"))
}
