//go:build linux

package supervise

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/toilhq/toil/internal/shim"
	"github.com/toilhq/toil/layout"
)

// bin holds the fixture binaries, built once per run.
var bin struct {
	dir string
	// worker is testdata/worker (a toil service); workerV2 the same build
	// under another name (a "new build"); workerExit and workerNoReady fail
	// in Setup and never finish it.
	worker, workerV2, workerExit, workerNoReady string
	// plain is testdata/plain (a main package reading PORT).
	plain, plainV2, plainExit, plainStubborn string
}

// self is this test binary, which is also the shim.
var self string

func TestMain(m *testing.M) {
	// The test binary doubles as toil: the shim workers start through, and
	// a supervisor run as a child process that a test can SIGKILL.
	if shim.Invoked(os.Args[1:]) {
		shim.Main(os.Args[1:])
	}
	if dir := os.Getenv(childEnv); dir != "" {
		os.Exit(runChild(dir))
	}
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	var err error
	if self, err = os.Executable(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := buildFixtures(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(bin.dir)
	return m.Run()
}

func buildFixtures() error {
	dir, err := os.MkdirTemp("", "supervise-test-")
	if err != nil {
		return err
	}
	bin.dir = dir
	bin.worker = filepath.Join(dir, "worker")
	bin.plain = filepath.Join(dir, "plain")
	cmd := exec.Command("go", "build", "-o", dir+"/", "./testdata/worker", "./testdata/plain")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build testdata: %v\n%s", err, out)
	}
	copies := []struct {
		dst *string
		src string
		as  string
	}{
		{&bin.workerV2, bin.worker, "worker-v2"},
		{&bin.workerExit, bin.worker, "worker-exit"},
		{&bin.workerNoReady, bin.worker, "worker-noready"},
		{&bin.plainV2, bin.plain, "plain-v2"},
		{&bin.plainExit, bin.plain, "plain-exit"},
		{&bin.plainStubborn, bin.plain, "plain-stubborn"},
	}
	for _, c := range copies {
		*c.dst = filepath.Join(dir, c.as)
		if err := copyFile(c.src, *c.dst); err != nil {
			return err
		}
	}
	return nil
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// testLayout is a defaulted layout of services, in a temp dir.
func testLayout(t testing.TB, services ...*layout.Service) *layout.Layout {
	l := &layout.Layout{Name: "test", Dir: t.TempDir(), Services: services}
	l.Default()
	return l
}

// runSvc is a toil service of procs workers on a free loopback port.
func runSvc(name string, procs int) *layout.Service {
	return &layout.Service{Name: name, Run: "test." + name, Procs: procs, Listen: layout.Listen{Auto: true}}
}

// mainSvc is a main: service of procs workers, reachable on a free port.
func mainSvc(name string, procs int) *layout.Service {
	return &layout.Service{Name: name, Main: "./cmd/" + name, Procs: procs, Listen: layout.Listen{Auto: true}}
}

// harness is a started supervisor and what it reported.
type harness struct {
	t  testing.TB
	sv *Supervisor

	mu       sync.Mutex
	events   []Event
	backends map[string][]Backend
	lines    []Line
	changed  chan struct{}
}

// options are the options every test supervisor gets: the test binary as
// shim, and callbacks that record into h.
func (h *harness) options(l *layout.Layout) Options {
	return Options{
		Layout:  l,
		Shim:    []string{self, shim.Arg},
		Environ: append(os.Environ(), "TOIL_LOG_FORMAT=text"),
		Log: func(ln Line) {
			h.mu.Lock()
			h.lines = append(h.lines, ln)
			h.mu.Unlock()
		},
		OnEvent: func(e Event) {
			h.t.Logf("event: %s", e)
			h.record(func() { h.events = append(h.events, e) })
		},
		OnBackends: func(svc string, bs []Backend) {
			h.record(func() { h.backends[svc] = slices.Clone(bs) })
		},
	}
}

func newHarness(t testing.TB) *harness {
	return &harness{t: t, backends: map[string][]Backend{}, changed: make(chan struct{})}
}

func (h *harness) record(f func()) {
	h.mu.Lock()
	defer h.mu.Unlock()
	f()
	close(h.changed)
	h.changed = make(chan struct{})
}

// start creates and starts a supervisor; the test's cleanup stops it.
func start(t testing.TB, l *layout.Layout, binaries map[string]string, tweak ...func(*Options)) *harness {
	t.Helper()
	h := newHarness(t)
	opts := h.options(l)
	for _, f := range tweak {
		f(&opts)
	}
	sv, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	h.sv = sv
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := sv.Stop(ctx); err != nil {
			t.Errorf("Stop: %v", err)
		}
	})
	if err := sv.Start(context.Background(), binaries); err != nil {
		t.Fatal(err)
	}
	return h
}

// waitTimeout bounds every wait, so a broken supervisor fails the test
// instead of hanging it; nothing is expected to take nearly that long.
const waitTimeout = 60 * time.Second

func (h *harness) waitReady(services ...string) {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	if err := h.sv.WaitReady(ctx, services...); err != nil {
		h.t.Fatal(err)
	}
}

// waitFor waits until cond, called under h.mu, holds.
func (h *harness) waitFor(what string, cond func() bool) {
	h.t.Helper()
	deadline := time.NewTimer(waitTimeout)
	defer deadline.Stop()
	for {
		h.mu.Lock()
		ok := cond()
		ch := h.changed
		h.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-ch:
		case <-deadline.C:
			h.t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// linesOf is what the worker pid printed.
func (h *harness) linesOf(pid int) string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var b strings.Builder
	for _, l := range h.lines {
		if l.PID == pid {
			fmt.Fprintf(&b, "%s | %s\n", l.ID(), l.Text)
		}
	}
	return b.String()
}

// eventsOf are the events so far that match.
func (h *harness) eventsOf(match func(Event) bool) []Event {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []Event
	for _, e := range h.events {
		if match(e) {
			out = append(out, e)
		}
	}
	return out
}

// waitEvents waits until n events match, and returns them.
func (h *harness) waitEvents(what string, n int, match func(Event) bool) []Event {
	h.t.Helper()
	var got []Event
	h.waitFor(what, func() bool {
		got = got[:0]
		for _, e := range h.events {
			if match(e) {
				got = append(got, e)
			}
		}
		return len(got) >= n
	})
	return got
}

func kind(k Kind, service string) func(Event) bool {
	return func(e Event) bool { return e.Kind == k && e.Service == service }
}

// status is one service's status.
func (h *harness) status(name string) ServiceStatus {
	h.t.Helper()
	for _, st := range h.sv.Status() {
		if st.Name == name {
			return st
		}
	}
	h.t.Fatalf("no service %s in Status", name)
	return ServiceStatus{}
}

func (h *harness) addr(name string) string {
	h.t.Helper()
	a := h.status(name).Addr
	if a == "" {
		h.t.Fatalf("service %s has no address", name)
	}
	return a
}

// pids are the worker pids of a service now.
func (h *harness) pids(name string) []int {
	var out []int
	for _, w := range h.status(name).Workers {
		out = append(out, w.PID)
	}
	return out
}

// get asks url once on a connection of its own.
func get(url string) (string, error) {
	resp, err := freshClient.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("%s: %s: %s", url, resp.Status, body)
	}
	return string(body), nil
}

var freshClient = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DisableKeepAlives: true, Proxy: nil}}

// field is the value of key=... in a fixture's answer.
func field(body, key string) string {
	for _, f := range strings.Fields(body) {
		if v, ok := strings.CutPrefix(f, key+"="); ok {
			return v
		}
	}
	return ""
}

// load is clients sending requests until stopped, counting answers by
// binary and failures.
type load struct {
	stop   chan struct{}
	once   sync.Once
	wg     sync.WaitGroup
	mu     sync.Mutex
	ok     int
	failed []string
	bins   map[string]int
	// after counts the answers each client got after markAfter.
	mark    bool
	after   []int
	changed chan struct{} // closed and replaced after every answer
}

// startLoad runs clients goroutines, each asking url() in a loop, at most
// max requests each, with keep-alive connections like a real client.
func startLoad(clients, max int, url func(i int) string) *load {
	ld := &load{stop: make(chan struct{}), bins: map[string]int{}, after: make([]int, clients), changed: make(chan struct{})}
	for i := range clients {
		c := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{Proxy: nil}}
		ld.wg.Go(func() {
			defer c.CloseIdleConnections()
			for range max {
				select {
				case <-ld.stop:
					return
				default:
				}
				body, err := getWith(c, url(i))
				ld.mu.Lock()
				if err != nil {
					ld.failed = append(ld.failed, err.Error())
				} else {
					ld.ok++
					ld.bins[field(body, "bin")]++
					if ld.mark {
						ld.after[i]++
					}
				}
				close(ld.changed)
				ld.changed = make(chan struct{})
				ld.mu.Unlock()
			}
		})
	}
	return ld
}

func getWith(c *http.Client, url string) (string, error) {
	resp, err := c.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("%s: %s", resp.Status, body)
	}
	return string(body), nil
}

// markAfter starts counting answers per client, so a test can wait until
// every client got some after a point.
func (ld *load) markAfter() {
	ld.mu.Lock()
	ld.mark = true
	ld.mu.Unlock()
}

// waitEveryClient waits until every client had n answers since
// markAfter.
func (ld *load) waitEveryClient(t testing.TB, n int) {
	t.Helper()
	deadline := time.NewTimer(waitTimeout)
	defer deadline.Stop()
	for {
		ld.mu.Lock()
		ok := !slices.ContainsFunc(ld.after, func(k int) bool { return k < n })
		ch := ld.changed
		ld.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-ch:
		case <-deadline.C:
			t.Fatalf("timed out waiting for every client to get %d answers", n)
		}
	}
}

// finish stops the clients and waits for them; it may be called twice.
func (ld *load) finish() {
	ld.once.Do(func() { close(ld.stop) })
	ld.wg.Wait()
}

// waitExit waits for pid, which need not be our child, to exit: a pidfd
// becomes readable when it does.
func waitExit(t testing.TB, pid int) {
	t.Helper()
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return // already gone and reaped
	}
	defer unix.Close(fd)
	for {
		n, err := unix.Poll([]unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}, int(waitTimeout.Milliseconds()))
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			t.Fatalf("poll pidfd of %d: %v", pid, err)
		}
		if n == 0 {
			t.Fatalf("pid %d still running after %s", pid, waitTimeout)
		}
		return
	}
}

// alive reports whether pid is a live (not zombie) process.
func alive(pid int) bool {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	i := strings.LastIndexByte(string(data), ')')
	return i > 0 && i+2 < len(data) && data[i+2] != 'Z'
}
