package ui

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestPlainPrefixes(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	u := New(&out, Options{})
	u.SetServices([]string{"web", "worker"}, []int{2, 1})
	u.WorkerLine("web", "web.1", "GET / 200")
	u.WorkerLine("worker", "worker.1", "tick")
	u.BackingLine("redis", "Ready to accept connections")
	u.Info("proxy on http://127.0.0.1:8000")
	want := `web.1    | GET / 200
worker.1 | tick
redis    | Ready to accept connections
toil     | proxy on http://127.0.0.1:8000
`
	if got := out.String(); got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}

func TestPlainHasNoEscapes(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	u := New(&out, Options{})
	u.SetServices([]string{"web"}, []int{1})
	u.WorkerLine("web", "web.1", "hello")
	u.Error("build failed")
	u.Warn("redis-server is not installed")
	u.Block("build failed: web", "web/web.go:3:1: syntax error")
	u.SetStatus([]Status{{Name: "web", Ready: 1, Total: 1, State: Ready}})
	u.Reload(Reload{Services: []string{"web"}, Total: time.Second})
	if strings.Contains(out.String(), "\x1b") {
		t.Errorf("plain output has escape sequences:\n%q", out.String())
	}
}

func TestColorStylesNames(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	u := New(&out, Options{Color: true})
	u.SetServices([]string{"web", "api"}, []int{1, 1})
	u.WorkerLine("web", "web.1", "a")
	u.WorkerLine("api", "api.1", "b")
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], "\x1b[") || !strings.HasSuffix(lines[0], " | a") {
		t.Fatalf("coloured lines: %q", lines)
	}
	// Two services, two colours.
	if lines[0][:strings.Index(lines[0], "web")] == lines[1][:strings.Index(lines[1], "api")] {
		t.Errorf("web and api have the same colour: %q", lines)
	}
}

func TestPlainStatusPrintsChangesOnly(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	u := New(&out, Options{})
	u.SetServices([]string{"web", "worker"}, []int{2, 1})
	u.SetStatus([]Status{
		{Name: "web", Ready: 0, Total: 2, State: Starting, Addr: "127.0.0.1:8081"},
		{Name: "worker", Ready: 0, Total: 1, State: Starting},
	})
	u.SetStatus([]Status{
		{Name: "web", Ready: 2, Total: 2, State: Ready, Addr: "127.0.0.1:8081"},
		{Name: "worker", Ready: 0, Total: 1, State: Starting},
	})
	u.SetStatus([]Status{
		{Name: "web", Ready: 2, Total: 2, State: BuildFailed, Addr: "127.0.0.1:8081", Note: "old workers serve"},
		{Name: "worker", Ready: 1, Total: 1, State: Ready},
	})
	want := `toil     | web    0/2 starting  127.0.0.1:8081
toil     | worker 0/1 starting
toil     | web    2/2 ready  127.0.0.1:8081
toil     | web    2/2 build failed  127.0.0.1:8081  (old workers serve)
toil     | worker 1/1 ready
`
	if got := out.String(); got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}

func TestBlockAndReload(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	u := New(&out, Options{})
	u.Block("build failed: web (the old workers keep serving)", "# example.com/app/web\nweb/web.go:9:2: undefined: nope\n")
	u.Reload(Reload{Services: []string{"web", "api"}, Total: 620 * time.Millisecond, Build: 510 * time.Millisecond, Ready: 40 * time.Millisecond, Roll: 70 * time.Millisecond})
	want := `toil | build failed: web (the old workers keep serving)
toil |     # example.com/app/web
toil |     web/web.go:9:2: undefined: nope
toil | web, api serving the new build 0.62s after the save (build 0.51s, ready 40ms, roll 70ms)
`
	if got := out.String(); got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}

// A multi-line message stays in one piece: every line prefixed.
func TestMultilineMessage(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	u := New(&out, Options{})
	u.Error("toil.yaml is invalid; still running the previous layout:\ntoil.yaml:3:5: services.web: unknown key \"prcs\"")
	want := "toil | toil.yaml is invalid; still running the previous layout:\ntoil | toil.yaml:3:5: services.web: unknown key \"prcs\"\n"
	if got := out.String(); got != want {
		t.Errorf("got:\n%q\nwant:\n%q", got, want)
	}
}

// writes records each Write, to see that lines are never split or mixed.
type writes struct {
	mu   sync.Mutex
	each []string
}

func (w *writes) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.each = append(w.each, string(p))
	return len(p), nil
}

func TestConcurrentLinesStayWhole(t *testing.T) {
	t.Parallel()
	w := &writes{}
	u := New(w, Options{})
	u.SetServices([]string{"web"}, []int{8})
	var wg sync.WaitGroup
	for n := 1; n <= 8; n++ {
		wg.Go(func() {
			for i := range 200 {
				u.WorkerLine("web", fmt.Sprintf("web.%d", n), fmt.Sprintf("worker %d line %d %s", n, i, strings.Repeat("x", 100)))
			}
		})
	}
	wg.Wait()
	if len(w.each) != 8*200 {
		t.Fatalf("%d writes for %d lines", len(w.each), 8*200)
	}
	for _, s := range w.each {
		if strings.Count(s, "\n") != 1 || !strings.HasSuffix(s, strings.Repeat("x", 100)+"\n") || !strings.HasPrefix(s, "web.") {
			t.Fatalf("a write is not one whole line: %q", s)
		}
	}
}

func TestLiveRedrawsStatusBelowLogs(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	u := New(&out, Options{Live: true, Width: 40})
	u.SetServices([]string{"web"}, []int{2})
	u.SetStatus([]Status{{Name: "web", Ready: 2, Total: 2, State: Ready, Addr: "127.0.0.1:8081"}})
	u.WorkerLine("web", "web.1", "hello")
	u.Close()
	want := "toil  | web 2/2 ready  127.0.0.1:8081\n" + // drawn
		"\x1b[1A\r\x1b[J" + "web.1 | hello\n" + "toil  | web 2/2 ready  127.0.0.1:8081\n" + // log above, redrawn
		"\x1b[1A\r\x1b[J" + "toil  | web 2/2 ready  127.0.0.1:8081\n" // Close: left as a plain line
	if got := out.String(); got != want {
		t.Errorf("got:\n%q\nwant:\n%q", got, want)
	}
	// Nothing after Close.
	u.Info("late")
	if strings.Contains(out.String(), "late") {
		t.Errorf("written after Close")
	}
}

func TestLiveCutsLongStatusLines(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	u := New(&out, Options{Live: true, Width: 30})
	u.SetStatus([]Status{{Name: "web", Ready: 0, Total: 2, State: Crashlooping, Note: "web.1 exited with status 2; restart 4 in 4s"}})
	line := strings.TrimSuffix(out.String(), "\n")
	if len([]rune(line)) > 29 || !strings.HasSuffix(line, "…") {
		t.Errorf("status line not cut to the terminal: %q", line)
	}
}
