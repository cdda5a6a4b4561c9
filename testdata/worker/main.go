// Command worker is the service the worker-protocol tests run as a real
// child process: it serves HTTP on the socket it inherits.
package main

import (
	"fmt"
	"io"
	"net/http"
	"os"

	"github.com/toilhq/toil"
)

// Config is the worker's config.
type Config struct {
	Greeting string `default:"hello"`
	Password string `secret:"true"`
}

// Worker serves /hello, and /block, which answers its headers at once and
// its body only once the client has sent its own: a request the test keeps
// in flight for as long as it likes.
type Worker struct {
	toil.Base[Config]
}

// Handler is served on the inherited socket.
func (w *Worker) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /hello", func(rw http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(rw, "%s from pid %d", w.Config().Greeting, os.Getpid())
	})
	mux.HandleFunc("GET /env/{name}", func(rw http.ResponseWriter, r *http.Request) {
		v, ok := os.LookupEnv(r.PathValue("name"))
		fmt.Fprintf(rw, "%v %q", ok, v)
	})
	mux.HandleFunc("POST /block", func(rw http.ResponseWriter, r *http.Request) {
		if err := http.NewResponseController(rw).EnableFullDuplex(); err != nil {
			http.Error(rw, err.Error(), http.StatusInternalServerError)
			return
		}
		rw.WriteHeader(http.StatusOK)
		http.NewResponseController(rw).Flush()
		body, err := io.ReadAll(r.Body)
		if err != nil {
			fmt.Fprintf(rw, "read body: %v", err)
			return
		}
		fmt.Fprintf(rw, "done:%s", body)
	})
	return mux
}

func main() { toil.Main("test.worker", &Worker{}) }
