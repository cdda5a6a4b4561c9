// Command mixin is the HTTP benchmark's subject: the same hello world as
// bare, served by toil's HTTP mixin (limits, panic recovery, route and
// status metrics) in a toil service, listening on $PORT.
package main

import (
	"context"
	"io"
	"net/http"

	"github.com/toilhq/toil"
)

// Hello serves hello world.
type Hello struct {
	toil.Base[struct{}]

	HTTP toil.HTTP
}

// Setup registers the route.
func (h *Hello) Setup(ctx context.Context) error {
	h.HTTP.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "hello world\n")
	})
	return nil
}

func main() { toil.Main("bench.hello", &Hello{}) }
