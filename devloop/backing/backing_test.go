//go:build linux

package backing

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/redis/go-redis/v9"

	"github.com/toilhq/toil/layout"
)

// helperEnv makes the test binary a backing command for the tests: an
// HTTP server on the port given as its argument.
const helperEnv = "BACKING_TEST_HELPER"

func TestMain(m *testing.M) {
	if mode := os.Getenv(helperEnv); mode != "" {
		os.Exit(helper(mode, os.Args[1:]))
	}
	os.Exit(m.Run())
}

// helper serves /healthz on 127.0.0.1:port; "slow" answers 503 for its
// first 300ms, as a server that listens before it is ready does.
func helper(mode string, args []string) int {
	start := time.Now()
	fmt.Println("helper listening on", args[0])
	http.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		if mode == "slow" && time.Since(start) < 300*time.Millisecond {
			http.Error(w, "warming up", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	if err := http.ListenAndServe("127.0.0.1:"+args[0], nil); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// parse is a layout with the given backing: section and one service.
func parse(t *testing.T, backing string) *layout.Layout {
	t.Helper()
	src := "name: test\nservices:\n  web: {main: ./cmd/web}\nbacking:\n" + backing
	l, err := layout.Parse(filepath.Join(t.TempDir(), "toil.yaml"), []byte(src))
	if err != nil {
		t.Fatalf("layout:\n%s\n%v", src, err)
	}
	return l
}

// recorder collects a set's events and lines.
type recorder struct {
	mu      sync.Mutex
	events  []Event
	lines   []Line
	changed chan struct{} // closed and replaced on every event
}

// waitFor waits until an event of kind k about name has come, and returns it.
func (r *recorder) waitFor(t *testing.T, name string, k Kind) Event {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		r.mu.Lock()
		for _, e := range r.events {
			if e.Backing == name && e.Kind == k {
				r.mu.Unlock()
				return e
			}
		}
		ch := r.changed
		r.mu.Unlock()
		select {
		case <-ch:
		case <-timeout:
			t.Fatalf("no %s event for %s within 30s", k, name)
		}
	}
}

func (r *recorder) options(t *testing.T) Options {
	r.changed = make(chan struct{})
	return Options{
		Dir: t.TempDir(),
		OnEvent: func(e Event) {
			t.Logf("event: %s", e)
			r.mu.Lock()
			r.events = append(r.events, e)
			close(r.changed)
			r.changed = make(chan struct{})
			r.mu.Unlock()
		},
		Log: func(l Line) {
			r.mu.Lock()
			r.lines = append(r.lines, l)
			r.mu.Unlock()
		},
	}
}

func (r *recorder) kinds(name string) []Kind {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Kind
	for _, e := range r.events {
		if e.Backing == name {
			out = append(out, e.Kind)
		}
	}
	return out
}

func start(t *testing.T, l *layout.Layout, opts Options) *Set {
	t.Helper()
	set, err := Start(context.Background(), l, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := set.Stop(context.Background()); err != nil {
			t.Error(err)
		}
	})
	return set
}

func needRedis(t *testing.T) {
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Skip("redis-server is not on PATH (apt-get install redis-server); CI installs it, so CI runs this test")
	}
}

// redisWorks writes and reads a key through url.
func redisWorks(t *testing.T, url string) {
	t.Helper()
	opt, err := redis.ParseURL(url)
	if err != nil {
		t.Fatalf("REDIS_URL %q: %v", url, err)
	}
	c := redis.NewClient(opt)
	defer c.Close()
	ctx := context.Background()
	if err := c.Set(ctx, "k", "v", time.Minute).Err(); err != nil {
		t.Fatalf("SET through %s: %v", url, err)
	}
	if got, err := c.Get(ctx, "k").Result(); err != nil || got != "v" {
		t.Fatalf("GET through %s: %q, %v", url, got, err)
	}
}

func alive(pid int) bool { return syscall.Kill(pid, 0) == nil }

func TestRedisServerFromPath(t *testing.T) {
	t.Parallel()
	needRedis(t)
	rec := &recorder{}
	set := start(t, parse(t, `  redis: {cmd: "redis-server --port {port} --save '' --appendonly no", fallback: embedded}`+"\n"), rec.options(t))
	env := set.Env()
	if !strings.HasPrefix(env["REDIS_URL"], "redis://127.0.0.1:") {
		t.Fatalf("REDIS_URL = %q, want redis://127.0.0.1:<port>", env["REDIS_URL"])
	}
	redisWorks(t, env["REDIS_URL"])
	st := set.Status()
	if len(st) != 1 || st[0].PID == 0 || !strings.HasPrefix(st[0].Runs, "redis-server --port ") {
		t.Fatalf("Status = %+v, want redis-server running as a process", st)
	}
	if got := rec.kinds("redis"); !slices.Equal(got, []Kind{EventStarting, EventReady}) {
		t.Errorf("events = %v, want starting, ready (no fallback warning: redis-server is installed)", got)
	}
	if err := set.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if alive(st[0].PID) {
		t.Errorf("redis-server (pid %d) still runs after Stop", st[0].PID)
	}
}

func TestFallbackToEmbeddedRedis(t *testing.T) {
	t.Parallel()
	rec := &recorder{}
	set := start(t, parse(t, `  cache: {kind: redis, cmd: "toil-test-no-such-redis --port {port}", fallback: embedded}`+"\n"), rec.options(t))
	redisWorks(t, set.Env()["REDIS_URL"])
	st := set.Status()
	if st[0].PID != 0 || !strings.Contains(st[0].Runs, "embedded redis (fallback: toil-test-no-such-redis is not installed)") {
		t.Errorf("Status.Runs = %q, want the embedded redis standing in", st[0].Runs)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	var warned bool
	for _, e := range rec.events {
		if e.Kind == EventWarning && strings.Contains(e.Reason, "toil-test-no-such-redis is not installed; running toil's embedded redis instead") {
			warned = true
		}
	}
	if !warned {
		t.Errorf("no warning that the embedded redis runs instead; events: %v", rec.events)
	}
}

func TestMissingCommandWithoutFallback(t *testing.T) {
	t.Parallel()
	rec := &recorder{}
	_, err := Start(context.Background(), parse(t, `  redis: {cmd: "toil-test-no-such-redis --port {port}"}`+"\n"), rec.options(t))
	if err == nil {
		t.Fatal("Start succeeded with a command that is not installed")
	}
	for _, want := range []string{"backing redis: toil-test-no-such-redis is not installed", "fallback: embedded", "toil.yaml:5"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}

func TestEmbeddedNATSJetStream(t *testing.T) {
	t.Parallel()
	rec := &recorder{}
	opts := rec.options(t)
	set := start(t, parse(t, "  nats: {embedded: nats}\n"), opts)
	url := set.Env()["NATS_URL"]
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatalf("connect to NATS_URL %q: %v", url, err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "ads", Subjects: []string{"ads.>"}}); err != nil {
		t.Fatalf("create a JetStream stream: %v", err)
	}
	if _, err := js.Publish(ctx, "ads.new", []byte("hi")); err != nil {
		t.Fatalf("publish to JetStream: %v", err)
	}
	// The store is where toil dev keeps its files, not a temp dir of the
	// server's own.
	if _, err := os.Stat(filepath.Join(opts.Dir, "nats", "jetstream")); err != nil {
		t.Errorf("no JetStream store under Dir/nats: %v", err)
	}
}

func TestCommandReadinessProbes(t *testing.T) {
	t.Parallel()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, backing string
	}{
		{"http", `{cmd: "` + self + ` {port}", ready: {http: /healthz}, env: {API_URL: "http://127.0.0.1:{port}"}}`},
		{"tcp", `{cmd: "` + self + ` {port}", env: {API_URL: "http://127.0.0.1:{port}"}}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			rec := &recorder{}
			opts := rec.options(t)
			opts.Environ = append(os.Environ(), helperEnv+"=slow")
			set := start(t, parse(t, "  api: "+c.backing+"\n"), opts)
			resp, err := http.Get(set.Env()["API_URL"] + "/healthz")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if c.name == "http" && resp.StatusCode != 200 {
				t.Errorf("ready before /healthz answered 200: got %s", resp.Status)
			}
			rec.mu.Lock()
			defer rec.mu.Unlock()
			if len(rec.lines) == 0 || rec.lines[0].Backing != "api" || !strings.HasPrefix(rec.lines[0].Text, "helper listening on") {
				t.Errorf("the command's output did not come through Log: %v", rec.lines)
			}
		})
	}
}

func TestCommandProbeCmd(t *testing.T) {
	t.Parallel()
	needRedis(t)
	rec := &recorder{}
	set := start(t, parse(t, `  redis: {cmd: "redis-server --port {port} --save ''", ready: {cmd: "redis-cli -p {port} ping"}}`+"\n"), rec.options(t))
	redisWorks(t, set.Env()["REDIS_URL"])
}

func TestCommandExitsBeforeReady(t *testing.T) {
	t.Parallel()
	rec := &recorder{}
	start := time.Now()
	_, err := Start(context.Background(), parse(t, `  db: {cmd: "sh -c 'echo cannot open data dir >&2; exit 3'", port: 5999, ready: {timeout: 1m}}`+"\n"), rec.options(t))
	if err == nil {
		t.Fatal("Start succeeded with a command that exits at once")
	}
	for _, want := range []string{"backing db:", "exited before it was ready (exit status 3)", "cannot open data dir"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	// It did not wait out the timeout.
	if time.Since(start) > 30*time.Second {
		t.Errorf("Start took %s: it waited for the probe's timeout after the command exited", time.Since(start))
	}
}

func TestStartFailureStopsWhatStarted(t *testing.T) {
	t.Parallel()
	needRedis(t)
	rec := &recorder{}
	_, err := Start(context.Background(), parse(t, `  redis: {cmd: "redis-server --port {port} --save ''"}
  broken: {cmd: "toil-test-no-such-server --port {port}"}
`), rec.options(t))
	if err == nil || !strings.Contains(err.Error(), "backing broken") {
		t.Fatalf("Start: %v, want the broken system's error", err)
	}
	// redis was started, then stopped again.
	if got := rec.kinds("redis"); !slices.Equal(got, []Kind{EventStarting, EventReady, EventStopped}) {
		t.Errorf("redis events = %v, want starting, ready, stopped", got)
	}
	if pid := rec.waitFor(t, "redis", EventReady).PID; pid == 0 || alive(pid) {
		t.Errorf("redis-server (pid %d) still runs after Start failed", pid)
	}
}

func TestApplyRestartsWhatChanged(t *testing.T) {
	t.Parallel()
	rec := &recorder{}
	l1 := parse(t, "  nats: {embedded: nats}\n  cache: {embedded: redis}\n")
	set := start(t, l1, rec.options(t))
	before := set.Env()

	// The same layout: nothing to do.
	if changed, err := set.Apply(context.Background(), l1); err != nil || changed {
		t.Fatalf("Apply(same) = %v, %v; want no change", changed, err)
	}
	// cache gets other variables: it restarts; nats stays as it is.
	l2 := parse(t, "  nats: {embedded: nats}\n  cache: {embedded: redis, env: {CACHE_URL: \"redis://127.0.0.1:{port}/1\"}}\n  more: {embedded: redis, env: {MORE_URL: \"redis://127.0.0.1:{port}\"}}\n")
	changed, err := set.Apply(context.Background(), l2)
	if err != nil || !changed {
		t.Fatalf("Apply = %v, %v; want a change", changed, err)
	}
	after := set.Env()
	if after["NATS_URL"] != before["NATS_URL"] {
		t.Errorf("NATS_URL changed from %s to %s: nats did not change and should have kept running", before["NATS_URL"], after["NATS_URL"])
	}
	if _, ok := after["REDIS_URL"]; ok {
		t.Errorf("REDIS_URL still set after cache's env replaced it")
	}
	redisWorks(t, after["CACHE_URL"])
	redisWorks(t, after["MORE_URL"])
	var names []string
	for _, s := range set.Status() {
		names = append(names, s.Name)
	}
	if !slices.Equal(names, []string{"nats", "cache", "more"}) {
		t.Errorf("systems = %v, want the file's order", names)
	}
	if got := rec.kinds("nats"); slices.Contains(got, EventStopped) {
		t.Errorf("nats was restarted (%v) though it did not change", got)
	}

	// Removed from the file: stopped.
	l3 := parse(t, "  nats: {embedded: nats}\n")
	if _, err := set.Apply(context.Background(), l3); err != nil {
		t.Fatal(err)
	}
	if st := set.Status(); len(st) != 1 || st[0].Name != "nats" {
		t.Errorf("after removing cache and more: %+v", st)
	}
}

// TestCommandThatDiesIsRestarted kills redis-server as QA did: it comes
// back on the same port, a client that was connected before works again,
// and Status says what happened.
func TestCommandThatDiesIsRestarted(t *testing.T) {
	t.Parallel()
	needRedis(t)
	rec := &recorder{}
	set := start(t, parse(t, `  redis: {cmd: "redis-server --port {port} --save '' --appendonly no"}`+"\n"), rec.options(t))
	before := set.Status()[0]
	url := set.Env()["REDIS_URL"]
	opt, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	client := redis.NewClient(opt)
	defer client.Close()
	ctx := context.Background()
	if err := client.Ping(ctx).Err(); err != nil {
		t.Fatal(err)
	}

	if err := syscall.Kill(before.PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if e := rec.waitFor(t, "redis", EventExited); e.Reason != "killed by SIGKILL" || e.Delay != layout.BackoffMin {
		t.Errorf("exited event: %q, restart in %s; want killed by SIGKILL, restart in %s", e.Reason, e.Delay, layout.BackoffMin)
	}
	e := rec.waitFor(t, "redis", EventRestarted)
	if e.Restarts != 1 || e.PID == before.PID {
		t.Errorf("restarted event: restart %d, pid %d; want restart 1 with a new pid (the old was %d)", e.Restarts, e.PID, before.PID)
	}
	after := set.Status()[0]
	if after.Addr != before.Addr || after.State != StateRunning || after.Restarts != 1 || after.Exited != "killed by SIGKILL" || after.PID != e.PID {
		t.Errorf("Status after the restart = %+v; want running on %s, 1 restart, exited: killed by SIGKILL, pid %d", after, before.Addr, e.PID)
	}
	if got := set.Env()["REDIS_URL"]; got != url {
		t.Errorf("REDIS_URL changed from %s to %s: the services have the old one", url, got)
	}
	// The client's old connection is dead; go-redis dials again.
	if err := client.Set(ctx, "k", "v", time.Minute).Err(); err != nil {
		t.Errorf("SET through the client connected before the kill: %v", err)
	}
	redisWorks(t, url)
	if err := set.Stop(context.Background()); err != nil {
		t.Error(err)
	}
	if alive(after.PID) {
		t.Errorf("the restarted redis-server (pid %d) still runs after Stop", after.PID)
	}
}

// TestRestartByName restarts a command on its port when asked; an
// embedded server cannot be, and the error says why.
func TestRestartByName(t *testing.T) {
	t.Parallel()
	needRedis(t)
	rec := &recorder{}
	set := start(t, parse(t, `  redis: {cmd: "redis-server --port {port} --save '' --appendonly no"}`+"\n  cache: {embedded: redis}\n"), rec.options(t))
	before := set.Status()[0]
	if err := set.Restart(context.Background(), "redis"); err != nil {
		t.Fatal(err)
	}
	after := set.Status()[0]
	if after.Addr != before.Addr || after.PID == before.PID || alive(before.PID) || after.State != StateRunning || after.Restarts != 1 {
		t.Errorf("after Restart: %+v; before: %+v; want a new pid on the same address, the old one gone", after, before)
	}
	if after.Exited != "" {
		t.Errorf("Status.Exited = %q after a restart asked for: the command did not exit on its own", after.Exited)
	}
	redisWorks(t, set.Env()["REDIS_URL"])
	err := set.Restart(context.Background(), "cache")
	if err == nil || !strings.Contains(err.Error(), "inside toil dev's own process") {
		t.Errorf("Restart of embedded redis: %v, want an error saying it runs inside toil dev", err)
	}
	if err := set.Restart(context.Background(), "nope"); err == nil {
		t.Error("Restart of a system that does not exist: no error")
	}
}

// TestRestartThatFailsIsRetried: a command that exits and cannot start
// again (here its data dir went away) is failed, with why, and tried again.
func TestRestartThatFailsIsRetried(t *testing.T) {
	t.Parallel()
	needRedis(t)
	rec := &recorder{}
	data := t.TempDir()
	set := start(t, parse(t, `  redis: {cmd: "redis-server --port {port} --save '' --appendonly no --dir `+data+`"}`+"\n"), rec.options(t))
	pid := set.Status()[0].PID
	if err := os.RemoveAll(data); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	e := rec.waitFor(t, "redis", EventRestartFailed)
	if e.Delay != 2*layout.BackoffMin {
		t.Errorf("restart failed: next try in %s, want %s (the backoff doubles)", e.Delay, 2*layout.BackoffMin)
	}
	st := set.Status()[0]
	if st.State != StateFailed || !strings.Contains(st.Error, "exited before it was ready") || st.PID != 0 {
		t.Errorf("Status after a failed restart = %+v; want failed, exited before it was ready, no pid", st)
	}
	if err := os.Mkdir(data, 0o755); err != nil {
		t.Fatal(err)
	}
	rec.waitFor(t, "redis", EventRestarted)
	if st := set.Status()[0]; st.State != StateRunning || st.Error != "" {
		t.Errorf("Status once it started again = %+v; want running", st)
	}
	redisWorks(t, set.Env()["REDIS_URL"])
}
