//go:build linux

package devloop_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/toilhq/toil/devloop"
	"github.com/toilhq/toil/devloop/ui"
	"github.com/toilhq/toil/internal/shim"
)

// childEnv makes the test binary a toil dev for the directory it names,
// which a test can signal or SIGKILL.
const childEnv = "DEVLOOP_TEST_CHILD"

// modFiles are go.mod and go.sum of the fixture module, made once.
var modFiles map[string][]byte

func TestMain(m *testing.M) {
	// The test binary doubles as toil: the shim the workers start through,
	// and a toil dev run as a child process.
	if shim.Invoked(os.Args[1:]) {
		shim.Main(os.Args[1:])
	}
	if dir := os.Getenv(childEnv); dir != "" {
		os.Exit(runChild(dir))
	}
	if err := tidyFixture(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}

// runChild is `toil dev` in dir, as the command runs it: SIGINT and
// SIGTERM stop it.
func runChild(dir string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	u := ui.New(os.Stdout, ui.Options{})
	err := devloop.Run(ctx, devloop.Options{
		Dir:     dir,
		UI:      u,
		Environ: testEnv(),
		OnReady: func() { u.Info("TEST READY") },
	})
	u.Close()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// testEnv is the environment of the go command and the workers: the
// module cache only, never the network.
func testEnv() []string {
	return append(os.Environ(), "GOPROXY=off", "GOTOOLCHAIN=local", "GOFLAGS=-mod=mod", "GOSUMDB=off")
}

func src() string {
	abs, err := filepath.Abs("..")
	if err != nil {
		panic(err)
	}
	return abs
}

func tidyFixture() error {
	dir, err := os.MkdirTemp("", "devloop-test-mod-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if err := copyDir(filepath.Join(src(), "testdata", "dev", "app"), dir); err != nil {
		return err
	}
	if err := replaceToil(dir); err != nil {
		return err
	}
	cmd := exec.Command("go", "mod", "tidy")
	cmd.Dir, cmd.Env = dir, testEnv()
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go mod tidy for the fixture: %v\n%s", err, out)
	}
	modFiles = map[string][]byte{}
	for _, name := range []string{"go.mod", "go.sum"} {
		if modFiles[name], err = os.ReadFile(filepath.Join(dir, name)); err != nil {
			return err
		}
	}
	return nil
}

func replaceToil(dir string) error {
	cmd := exec.Command("go", "mod", "edit", "-replace", "github.com/toilhq/toil="+src())
	cmd.Dir, cmd.Env = dir, testEnv()
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go mod edit: %v\n%s", err, out)
	}
	return nil
}

func copyDir(from, to string) error {
	return filepath.WalkDir(from, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		dst := filepath.Join(to, rel)
		if d.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(dst, data, 0o644)
	})
}

// fixture is testdata/dev/app in a temp dir, its proxy on a free port, with
// extra toil.yaml lines appended (backing:).
func fixture(t *testing.T, extra string) (dir, proxy string) {
	t.Helper()
	dir = t.TempDir()
	if err := copyDir(filepath.Join(src(), "testdata", "dev", "app"), dir); err != nil {
		t.Fatal(err)
	}
	for name, data := range modFiles {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	proxy = ln.Addr().String()
	ln.Close()
	yml, err := os.ReadFile(filepath.Join(dir, "toil.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	yml = bytes.Replace(yml, []byte("127.0.0.1:18000"), []byte(proxy), 1)
	if err := os.WriteFile(filepath.Join(dir, "toil.yaml"), append(yml, extra...), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir, proxy
}

// setVersion writes web's version constant, plus extra source.
func setVersion(t *testing.T, dir, v, extra string) {
	t.Helper()
	src := fmt.Sprintf("package web\n\n// Version is what the tests edit to see a new build serving.\nconst Version = %q\n%s", v, extra)
	if err := os.WriteFile(filepath.Join(dir, "web", "version.go"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
}

// syncBuffer is toil dev's output, for the log when a test fails.
type syncBuffer struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	changed chan struct{} // closed and replaced on every write, once made
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.changed != nil {
		close(b.changed)
	}
	b.changed = make(chan struct{})
	return b.buf.Write(p)
}

// waitFor waits until the output holds n times s.
func (b *syncBuffer) waitFor(t *testing.T, s string, n int) {
	t.Helper()
	timeout := time.After(90 * time.Second)
	for {
		b.mu.Lock()
		got, ch := strings.Count(b.buf.String(), s), b.changed
		if ch == nil {
			b.changed = make(chan struct{})
			ch = b.changed
		}
		b.mu.Unlock()
		if got >= n {
			return
		}
		select {
		case <-ch:
		case <-timeout:
			t.Fatalf("toil dev said %q %d times within 90s, want %d", s, got, n)
		}
	}
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// observed is what the load's clients saw: every response's version and
// stale header, and the failures.
type observed struct {
	mu       sync.Mutex
	versions map[string]int
	stale    map[string]int
	failures []string
	total    int
	changed  chan struct{}
}

var versionRE = regexp.MustCompile(`from (v\d+) `)

func (o *observed) record(body, stale string, err error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.total++
	if err != nil {
		o.failures = append(o.failures, err.Error())
	} else {
		if m := versionRE.FindStringSubmatch(body); m != nil {
			o.versions[m[1]]++
		}
		if stale != "" {
			o.stale[stale]++
		}
	}
	close(o.changed)
	o.changed = make(chan struct{})
}

// waitFor waits until cond holds for what was observed.
func (o *observed) waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	timeout := time.After(90 * time.Second)
	for {
		o.mu.Lock()
		ok, ch := cond(), o.changed
		o.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-ch:
		case <-timeout:
			t.Fatalf("no response showed %s within 90s", what)
		}
	}
}

// startDev runs toil dev (devloop.Run) on dir until the test ends and
// returns its output once it is ready; the output is logged if the test
// failed. debounce 0 keeps the default.
func startDev(t *testing.T, dir string, debounce time.Duration) *syncBuffer {
	t.Helper()
	out := &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan struct{})
	runErr := make(chan error, 1)
	go func() {
		runErr <- devloop.Run(ctx, devloop.Options{
			Dir: dir, UI: ui.New(out, ui.Options{}), Environ: testEnv(),
			OnReady:  func() { close(ready) },
			Debounce: debounce,
		})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-runErr; err != nil {
			t.Errorf("Run: %v", err)
		}
		if t.Failed() {
			t.Logf("toil dev said:\n%s", out.String())
		}
	})
	select {
	case <-ready:
	case err := <-runErr:
		runErr <- nil // Run has returned: the cleanup must not wait for it again
		t.Fatalf("Run: %v\n%s", err, out.String())
	case <-time.After(2 * time.Minute):
		t.Fatalf("toil dev not ready within 2m:\n%s", out.String())
	}
	return out
}

// TestReloadsDropNothing reloads web 20 times (one of them a broken build,
// then its fix) while 8 clients send requests through the proxy: every
// request gets a 200 from a worker.
func TestReloadsDropNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("20 builds under load")
	}
	t.Parallel()
	dir, proxy := fixture(t, "")
	out := startDev(t, dir, 0)

	obs := &observed{versions: map[string]int{}, stale: map[string]int{}, changed: make(chan struct{})}
	// newest is the version last saved: a response from it is never
	// stale, even while the rest of its rollout runs.
	var newest atomic.Value
	newest.Store("v1")
	loadCtx, stopLoad := context.WithCancel(context.Background())
	var clients sync.WaitGroup
	for range 8 {
		clients.Go(func() {
			client := &http.Client{Timeout: 10 * time.Second}
			// About 100 requests/s each, 800 in all: steady load that leaves
			// the two cores of CI to the builds.
			tick := time.NewTicker(10 * time.Millisecond)
			defer tick.Stop()
			for loadCtx.Err() == nil {
				<-tick.C
				resp, err := client.Get("http://" + proxy + "/")
				if err != nil {
					obs.record("", "", err)
					continue
				}
				body, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				stale := resp.Header.Get("X-Toil-Stale")
				if err == nil && resp.StatusCode != http.StatusOK {
					err = fmt.Errorf("%s: %s", resp.Status, body)
				}
				if m := versionRE.FindSubmatch(body); err == nil && m != nil && string(m[1]) == newest.Load() && stale != "" {
					err = fmt.Errorf("a response from the newest source (%s) carries X-Toil-Stale: %s", m[1], stale)
				}
				obs.record(string(body), stale, err)
			}
		})
	}
	obs.waitFor(t, "v1", func() bool { return obs.versions["v1"] > 0 })
	for i := 2; i <= 21; i++ {
		newest.Store(fmt.Sprintf("v%d", i))
		if i == 11 {
			// A broken build: the previous one keeps serving, marked stale.
			setVersion(t, dir, fmt.Sprintf("v%d", i), "\nvar broken = nope\n")
			obs.waitFor(t, "a failed build", func() bool {
				for s := range obs.stale {
					if strings.HasPrefix(s, "build failed") {
						return true
					}
				}
				return false
			})
		}
		v := fmt.Sprintf("v%d", i)
		setVersion(t, dir, v, "")
		obs.waitFor(t, v, func() bool { return obs.versions[v] > 0 })
	}
	// Each reload says how long it took once its rollout is done.
	out.waitFor(t, "serving the new build", 20)
	stopLoad()
	clients.Wait()

	obs.mu.Lock()
	defer obs.mu.Unlock()
	t.Logf("%d requests through 20 reloads and one failed build, %d failed", obs.total, len(obs.failures))
	if len(obs.failures) > 0 {
		t.Errorf("%d of %d requests failed; the first: %s", len(obs.failures), obs.total, obs.failures[0])
	}
}

// TestNothingOutlivesToil stops toil dev with SIGINT, SIGTERM and SIGKILL,
// twice each, and checks that no worker or backing command is left. After
// a SIGKILL, the next toil dev starts cleanly in the same directory.
func TestNothingOutlivesToil(t *testing.T) {
	if testing.Short() {
		t.Skip("starts toil dev 6 times")
	}
	t.Parallel()
	extra := "backing:\n  nats: {embedded: nats}\n"
	if _, err := exec.LookPath("redis-server"); err == nil {
		extra += "  redis: {cmd: \"redis-server --port {port} --save '' --appendonly no\"}\n"
	} else {
		t.Log("redis-server is not installed: only embedded backing systems run")
	}
	dir, _ := fixture(t, extra)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for trial := range 2 {
		for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGKILL} {
			t.Run(fmt.Sprintf("%s-%d", sig, trial+1), func(t *testing.T) {
				stopOnce(t, self, dir, sig)
			})
		}
	}
}

func stopOnce(t *testing.T, self, dir string, sig syscall.Signal) {
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), childEnv+"="+dir)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var out syncBuffer
	ready := make(chan struct{})
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		sc := bufio.NewScanner(stdout)
		once := sync.Once{}
		for sc.Scan() {
			out.Write([]byte(sc.Text() + "\n"))
			if strings.Contains(sc.Text(), "TEST READY") {
				once.Do(func() { close(ready) })
			}
		}
	}()
	waited := false
	defer func() {
		if !waited {
			_ = cmd.Process.Kill()
			<-copied
			_ = cmd.Wait()
		}
		if t.Failed() {
			t.Logf("toil dev said:\n%s%s", out.String(), stderr.String())
		}
	}()
	select {
	case <-ready:
	case <-copied:
		t.Fatalf("toil dev exited before it was ready")
	case <-time.After(2 * time.Minute):
		t.Fatalf("toil dev not ready within 2m")
	}

	c, err := devloop.Connect(dir)
	if err != nil {
		t.Fatal(err)
	}
	r, err := c.Status(context.Background())
	c.Close()
	if err != nil {
		t.Fatal(err)
	}
	var pids []int
	for _, s := range r.Services {
		for _, w := range s.Workers {
			pids = append(pids, w.PID)
		}
	}
	for _, b := range r.Backing {
		if b.PID != 0 {
			pids = append(pids, b.PID)
		}
	}
	if len(pids) < 3 {
		t.Fatalf("status lists %d processes, want 3 workers and more: %+v", len(pids), r)
	}

	if err := cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	<-copied
	err = cmd.Wait()
	waited = true
	if sig != syscall.SIGKILL {
		// A graceful stop waits for everything: nothing is left the moment
		// toil dev has exited, and it exits 0.
		if err != nil {
			t.Errorf("toil dev exited with %v after %s, want 0", err, sig)
		}
		for _, pid := range pids {
			if alive(pid) {
				t.Errorf("pid %d still runs after toil dev exited on %s", pid, sig)
			}
		}
	} else {
		// The kernel kills the workers and backing commands (their
		// parent-death signal) once toil dev is gone; their reaping by
		// init is not instant.
		for _, pid := range pids {
			waitGone(t, pid)
		}
	}
	if left := under(dir); len(left) > 0 {
		t.Errorf("processes started from %s still run after %s: %v", dir, sig, left)
	}
}

// alive reports whether pid runs: it exists and is not a zombie.
func alive(pid int) bool {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	// The state follows the command in parentheses.
	s := string(stat)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}

func waitGone(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for alive(pid) {
		if time.Now().After(deadline) {
			t.Errorf("pid %d still runs 10s after toil dev was killed", pid)
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// under lists the live processes whose executable or arguments name dir.
func under(dir string) []string {
	entries, _ := os.ReadDir("/proc")
	var out []string
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() || !alive(pid) {
			continue
		}
		cmdline, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err != nil {
			continue
		}
		if bytes.Contains(cmdline, []byte(dir)) {
			out = append(out, fmt.Sprintf("%d %s", pid, bytes.ReplaceAll(cmdline, []byte{0}, []byte{' '})))
		}
	}
	return out
}

// get returns the body of a GET through the proxy, or the error.
func get(url string) (string, http.Header, error) {
	client := &http.Client{Timeout: 5 * time.Second}
	resp, err := client.Get(url)
	if err != nil {
		return "", nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), resp.Header, err
}

// eventually waits for f to hold, checking after each of toil dev's
// writes to out (every change it applies says so).
func eventually(t *testing.T, out *syncBuffer, what string, f func() bool) {
	t.Helper()
	timeout := time.After(90 * time.Second)
	for !f() {
		out.mu.Lock()
		if out.changed == nil {
			out.changed = make(chan struct{})
		}
		ch := out.changed
		out.mu.Unlock()
		if f() {
			return
		}
		select {
		case <-ch:
		case <-time.After(200 * time.Millisecond):
			// The proxy's answer changes without a line of output.
		case <-timeout:
			t.Fatalf("%s: not within 90s", what)
		}
	}
}

// TestLayoutEdits edits toil.yaml under a running toil dev: a main:
// service and a route are added, a service removed, a backing system added
// whose URL reaches the workers; a watch: glob restarts a service.
func TestLayoutEdits(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs services")
	}
	t.Parallel()
	dir, proxy := fixture(t, "")
	out := startDev(t, dir, 0)
	status := func() *devloop.Report {
		c, err := devloop.Connect(dir)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		r, err := c.Status(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	pidOf := func(r *devloop.Report, id string) int {
		for _, s := range r.Services {
			for _, w := range s.Workers {
				if w.ID == id {
					return w.PID
				}
			}
		}
		return 0
	}
	workerPID := pidOf(status(), "worker.1")

	yml, err := os.ReadFile(filepath.Join(dir, "toil.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	edited := strings.Replace(string(yml), "  worker: {run: worker.tick}\n",
		"  api: {main: ./api, listen: auto}\n", 1)
	edited = strings.Replace(edited, "routes: [{path: /, to: web}]", "routes: [{path: /, to: web}, {path: /api, to: api}]", 1)
	edited += "backing:\n  redis: {embedded: redis}\n"
	edited = strings.Replace(edited, "config: [toil.config.yaml]}", "config: [toil.config.yaml], watch: [\"templates/**/*.html\"]}", 1)
	if err := os.WriteFile(filepath.Join(dir, "toil.yaml"), []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	eventually(t, out, "the new api service serving /api", func() bool {
		body, _, err := get("http://" + proxy + "/api/users")
		return err == nil && strings.HasPrefix(body, "api on /api/users, REDIS_URL=redis://127.0.0.1:")
	})
	eventually(t, out, "worker removed", func() bool {
		r := status()
		for _, s := range r.Services {
			if s.Name == "worker" {
				return false
			}
		}
		return true
	})
	if alive(workerPID) {
		t.Errorf("worker.1 (pid %d) still runs after worker was removed from toil.yaml", workerPID)
	}
	// web got the new backing system's variable too: it was rolled.
	if r := status(); len(r.Backing) != 1 || r.Backing[0].Name != "redis" {
		t.Errorf("backing after the edit: %+v", r.Backing)
	}
	for _, want := range []string{"+ service api", "- service worker", "+ backing redis"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("toil dev did not say %q", want)
		}
	}

	// A file matching web's watch: glob restarts web.
	before := pidOf(status(), "web.1")
	if err := os.MkdirAll(filepath.Join(dir, "templates", "mail"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "templates", "mail", "hi.html"), []byte("<p>hi</p>"), 0o644); err != nil {
		t.Fatal(err)
	}
	out.waitFor(t, "web restarted in", 1)
	if !strings.Contains(out.String(), "templates/mail/hi.html changed (watch:): restarting web") {
		t.Errorf("toil dev did not say why web restarted")
	}
	if after := pidOf(status(), "web.1"); after == before || after == 0 {
		t.Errorf("web.1 is pid %d before and %d after its watch: file changed; want a new worker", before, after)
	}
}

// TestNeverBuilt starts toil dev with web's source broken: nothing can
// serve it, so the proxy answers 502 with the build error (not a 503
// "starting" page, not marked as serving a previous build there is none
// of), and status says so. Fixed, web serves.
func TestNeverBuilt(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs services")
	}
	t.Parallel()
	dir, proxy := fixture(t, "")
	setVersion(t, dir, "v2", "\nvar broken = nope\n")
	out := startDev(t, dir, 0)

	resp, err := http.Get("http://" + proxy + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadGateway || !strings.Contains(string(body), "undefined: nope") {
		t.Errorf("GET / with web never built = %s:\n%s\nwant 502 showing the build error", resp.Status, body)
	}
	if s := resp.Header.Get("X-Toil-Stale"); s != "" {
		t.Errorf("GET / with web never built carries X-Toil-Stale: %s; there is no previous build", s)
	}
	if strings.Contains(string(body), "starting") {
		t.Errorf("the page says web is starting; it cannot until it builds:\n%s", body)
	}

	c, err := devloop.Connect(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r, err := c.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range r.Services {
		if s.Name != "web" {
			continue
		}
		if s.State != "build failed" || s.Binary != "" || s.Stale != "" || len(s.Workers) != 0 {
			t.Errorf("status of web: state %q, binary %q, stale %q, %d workers; want build failed, no binary, not stale, no workers",
				s.State, s.Binary, s.Stale, len(s.Workers))
		}
	}

	setVersion(t, dir, "v2", "")
	eventually(t, out, "web serving v2", func() bool {
		body, h, err := get("http://" + proxy + "/")
		return err == nil && strings.HasPrefix(body, "hello from v2 ") && h.Get("X-Toil-Stale") == ""
	})
}

// TestConfigEditAppliedOnce edits web's config file under toil dev: each
// worker applies each save once, on toil dev's SIGHUP, and does not apply
// it again from a watch of its own, so a bad key is reported once per
// worker.
func TestConfigEditAppliedOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs services")
	}
	t.Parallel()
	dir, _ := fixture(t, "")
	// Longer than a worker's own config watch waits (100 ms): a watch of
	// its own, if it had one, would have reloaded before toil dev's SIGHUP.
	out := startDev(t, dir, 300*time.Millisecond)
	// Both web workers have read the config (toil dev is ready before
	// they are).
	out.waitFor(t, `"msg":"ready","service":"web"`, 2)

	config := filepath.Join(dir, "toil.config.yaml")
	if err := os.WriteFile(config, []byte("web:\n  greetin: hi\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	const rejected = "config reload rejected"
	out.waitFor(t, rejected, 2)
	if n := strings.Count(out.String(), rejected); n != 2 {
		t.Errorf("the bad config was rejected %d times by web's 2 workers; want once each", n)
	}
	// worker (whose file this is not, under config:) gets no SIGHUP: its
	// own watch stays on, and sees the save.
	for _, l := range strings.Split(out.String(), "\n") {
		if strings.Contains(l, `"service":"web"`) && strings.Contains(l, `"trigger":"file change"`) {
			t.Errorf("a web worker reloaded on its own watch of the config file as well as on toil dev's SIGHUP: %s", l)
		}
	}
}

// TestBackingCommandRestarts kills redis-server under toil dev, as QA did:
// toil dev says so, restarts it on the same port, and status shows it
// restarting, then running with its restart counted. toil dev restart
// restarts it by name; an embedded one cannot be and says why.
func TestBackingCommandRestarts(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs services")
	}
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Skip("redis-server is not on PATH (apt-get install redis-server); CI installs it, so CI runs this test")
	}
	t.Parallel()
	dir, _ := fixture(t, "backing:\n  redis: {cmd: \"redis-server --port {port} --save '' --appendonly no\"}\n  cache: {embedded: redis}\n")
	out := startDev(t, dir, 0)
	c, err := devloop.Connect(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	status := func() (*devloop.Report, devloop.BackingReport) {
		t.Helper()
		r, err := c.Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range r.Backing {
			if b.Name == "redis" {
				return r, b
			}
		}
		t.Fatalf("status has no redis: %+v", r.Backing)
		return nil, devloop.BackingReport{}
	}
	r, before := status()
	if before.State != "running" || before.PID == 0 || !r.Healthy() {
		t.Fatalf("redis before the kill: %+v (healthy: %v)", before, r.Healthy())
	}

	if err := syscall.Kill(before.PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	out.waitFor(t, "backing system redis exited (killed by SIGKILL); restarting it on the same port in 500ms", 1)
	out.waitFor(t, "redis restarted on "+before.Addr, 1)
	r, after := status()
	if after.State != "running" || after.Addr != before.Addr || after.Restarts != 1 || after.Exited != "killed by SIGKILL" || after.PID == before.PID {
		t.Errorf("redis after the kill: %+v; want running again on %s, 1 restart, a new pid", after, before.Addr)
	}
	if !r.Healthy() {
		t.Errorf("status is not healthy once redis runs again: %+v", r)
	}

	msg, err := c.Restart(ctx, "redis")
	if err != nil || msg != "restarted backing system redis" {
		t.Errorf("toil dev restart redis: %q, %v", msg, err)
	}
	if _, again := status(); again.Restarts != 2 || again.PID == after.PID || again.Addr != before.Addr || alive(after.PID) {
		t.Errorf("redis after toil dev restart redis: %+v; want a second restart on %s, pid %d gone", again, before.Addr, after.PID)
	}
	if _, err := c.Restart(ctx, "cache"); err == nil || !strings.Contains(err.Error(), "inside toil dev's own process") {
		t.Errorf("toil dev restart cache (embedded): %v, want an error saying it runs inside toil dev", err)
	}
	if _, err := c.Restart(ctx, "nope"); err == nil || !strings.Contains(err.Error(), "there are web, worker, redis, cache") {
		t.Errorf("toil dev restart nope: %v, want the services and backing systems named", err)
	}
}
