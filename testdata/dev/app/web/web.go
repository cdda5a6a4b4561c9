// Package web is the HTTP service of toil dev's test fixture: it says
// which build, config and worker answered.
package web

import (
	"fmt"
	"net/http"

	"github.com/toilhq/toil"
)

// Config is read from toil.config.yaml's web.web section.
type Config struct {
	Greeting string `default:"hello"`
}

// Web answers every request with its greeting, version and worker.
type Web struct {
	toil.Base[Config]
}

// Handler is served on the socket toil dev holds.
func (w *Web) Handler() http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(rw, "%s from %s (worker %d)\n", w.Config().Greeting, Version, w.Worker())
	})
}
