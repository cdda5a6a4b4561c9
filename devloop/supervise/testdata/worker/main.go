// Command worker is the toil service the supervisor tests run: it serves
// HTTP on the socket it inherits and says who answered. What it does
// depends on the name it was installed under, so a test rolls onto a
// "broken build" by copying it: a name containing "exit" fails in Setup,
// "noready" never finishes Setup.
package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/toilhq/toil"
)

// Worker answers every request with its service, worker, pid and binary.
type Worker struct {
	toil.Base[struct{}]
}

// Setup fails or hangs, by the binary's name.
func (w *Worker) Setup(ctx context.Context) error {
	switch name := binName(); {
	case strings.Contains(name, "exit"):
		fmt.Fprintln(os.Stderr, "fixture: this build is broken, refusing to start")
		return errors.New("broken build")
	case strings.Contains(name, "noready"):
		fmt.Fprintln(os.Stderr, "fixture: setting up forever")
		<-ctx.Done()
		return ctx.Err()
	}
	return nil
}

// Handler is served on the inherited socket.
func (w *Worker) Handler() http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(rw, "svc=%s worker=%d pid=%d bin=%s", os.Getenv("TOIL_SERVICE"), w.Worker(), os.Getpid(), binName())
	})
}

func binName() string {
	exe, err := os.Executable()
	if err != nil {
		return "?"
	}
	return filepath.Base(exe)
}

func main() {
	if os.Getenv("SUPERVISE_TEST_PDEATHSIG") == "0" {
		// A worker the stale-worker test leaves behind on purpose: a
		// log line written after its supervisor was killed must not
		// kill it by SIGPIPE (Go's default on stderr), or the test
		// could not tell a worker that outlived its supervisor from
		// one that did not.
		signal.Ignore(syscall.SIGPIPE)
	}
	toil.Main("test.worker", &Worker{})
}
