// Package web is the HTTP service of toil dev's test fixture: it says
// which build, config and worker answered.
package web

import (
	"fmt"
	"net/http"
	"time"

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
		if r.URL.Path == "/slow" {
			// An in-flight request for drain tests: the headers and a
			// first line go out at once, the rest a second later.
			fmt.Fprintln(rw, "slow start")
			rw.(http.Flusher).Flush()
			time.Sleep(time.Second)
			fmt.Fprintln(rw, "slow done")
			return
		}
		fmt.Fprintf(rw, "%s from %s (worker %d)\n", w.Config().Greeting, Version, w.Worker())
	})
}
