package toiltest_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/toilhq/toil"
	"github.com/toilhq/toil/toiltest"
)

type webConfig struct {
	Greeting string `default:"hello"`
}

// web is a struct service that serves HTTP by being an http.Handler.
type web struct {
	toil.Base[webConfig]
}

func (w *web) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	if w.Switch.Active(r.Context(), "web:shout") {
		fmt.Fprint(rw, strings.ToUpper(w.Config().Greeting))
		return
	}
	fmt.Fprint(rw, w.Config().Greeting)
}

func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func TestRunServesHTTPAndReloads(t *testing.T) {
	t.Parallel()
	svc := &web{}
	s := toiltest.Run(t, svc, toiltest.Config("greeting: hi"), toiltest.With(toil.WithReloadDebounce(0)))
	s.WaitReady()
	if got := get(t, s.URL("/")); got != "hi" {
		t.Errorf("GET / = %q, want hi", got)
	}
	toiltest.ForceSwitch(t, s.Switches(), "web:shout", true)
	if got := get(t, s.URL("/")); got != "HI" {
		t.Errorf("GET / with web:shout forced on = %q, want HI", got)
	}
	s.SetConfig("greeting: yo")
	if err := s.Reload(); err != nil {
		t.Fatal(err)
	}
	if got := get(t, s.URL("/")); got != "YO" {
		t.Errorf("GET / after reload = %q, want YO", got)
	}
	if !strings.Contains(s.Logs(), "serving HTTP") || !strings.Contains(s.Logs(), "service=toiltest_test.web") {
		t.Errorf("Logs() lacks the service's lines:\n%s", s.Logs())
	}
	if err := s.Stop(); err != nil {
		t.Errorf("Stop: %v", err)
	}
	if _, err := http.Get(s.URL("/")); err == nil {
		t.Error("the service still answers after Stop")
	}
}

func TestRunReportsAServiceThatCannotStart(t *testing.T) {
	t.Parallel()
	s := toiltest.Run(t, &web{}, toiltest.Args("--nope"))
	<-s.Done()
	if err := s.Err(); err == nil || !strings.Contains(err.Error(), "unknown flag --nope") {
		t.Errorf("Err() = %v, want the unknown flag", err)
	}
}

func TestRunFunctionService(t *testing.T) {
	t.Parallel()
	got := make(chan string, 1)
	hello := func(ctx context.Context, s *toil.S) error {
		got <- s.Name + ": " + s.Config.String("greeting")
		return nil
	}
	s := toiltest.Run(t, hello, toiltest.Name("hello.world"), toiltest.Config("greeting: hi"))
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	if msg := <-got; msg != "hello.world: hi" {
		t.Errorf("the function saw %q", msg)
	}
}
