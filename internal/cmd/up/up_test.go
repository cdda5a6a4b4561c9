//go:build linux

package up

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"debug/buildinfo"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/toilhq/toil/export"
	buildcmd "github.com/toilhq/toil/internal/cmd/build"
	"github.com/toilhq/toil/internal/cmdutil"
	"github.com/toilhq/toil/internal/shim"
	"github.com/toilhq/toil/layout"
)

// childEnv makes the test binary run one toil command (build, up, reload)
// in the working directory, as the toil binary would.
const childEnv = "UP_TEST_CHILD"

// modFiles are go.mod and go.sum of the fixture module, made once.
var modFiles map[string][]byte

func TestMain(m *testing.M) {
	// The test binary doubles as toil: the shim the workers start
	// through, and the commands under test.
	if shim.Invoked(os.Args[1:]) {
		shim.Main(os.Args[1:])
	}
	if cmd := os.Getenv(childEnv); cmd != "" {
		os.Exit(runChild(cmd, os.Args[1:]))
	}
	os.Exit(m.Run())
}

var tidyOnce = sync.OnceValue(tidyFixture)

func runChild(name string, args []string) int {
	f := &cmdutil.Factory{IO: cmdutil.System(), Version: "test"}
	switch name {
	case "build":
		c := buildcmd.NewCmdBuild(f, nil)
		c.SetArgs(args)
		if err := c.Execute(); err != nil {
			return 1
		}
	case "up":
		c := NewCmdUp(f, func(o *Options) error {
			o.OnReady = func(addr string) { fmt.Printf("TEST READY %s\n", addr) }
			return upRun(o)
		})
		c.SetArgs(args)
		if err := c.Execute(); err != nil {
			return 1
		}
	case "reload":
		c := NewCmdReload(f, nil)
		c.SetArgs(args)
		if err := c.Execute(); err != nil {
			return 1
		}
	default:
		return 2
	}
	return 0
}

func testEnv() []string {
	return append(os.Environ(), "GOPROXY=off", "GOTOOLCHAIN=local", "GOFLAGS=-mod=mod", "GOSUMDB=off")
}

func src() string {
	abs, err := filepath.Abs("../../..")
	if err != nil {
		panic(err)
	}
	return abs
}

func tidyFixture() error {
	dir, err := os.MkdirTemp("", "up-test-mod-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if err := copyDir(filepath.Join(src(), "testdata", "dev", "app"), dir); err != nil {
		return err
	}
	for _, args := range [][]string{{"mod", "edit", "-replace", "github.com/toilhq/toil=" + src()}, {"mod", "tidy"}} {
		cmd := exec.Command("go", args...)
		cmd.Dir, cmd.Env = dir, testEnv()
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("go %s for the fixture: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	modFiles = map[string][]byte{}
	for _, name := range []string{"go.mod", "go.sum"} {
		if modFiles[name], err = os.ReadFile(filepath.Join(dir, name)); err != nil {
			return err
		}
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

// fixture is testdata/dev/app in a temp dir with its proxy on a free port.
func fixture(t *testing.T) (dir, proxy string) {
	t.Helper()
	if err := tidyOnce(); err != nil {
		t.Fatal(err)
	}
	dir = t.TempDir()
	if err := copyDir(filepath.Join(src(), "testdata", "dev", "app"), dir); err != nil {
		t.Fatal(err)
	}
	for name, data := range modFiles {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	proxy = freeAddr(t)
	yml, err := os.ReadFile(filepath.Join(dir, "toil.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	yml = bytes.Replace(yml, []byte("127.0.0.1:18000"), []byte(proxy), 1)
	if err := os.WriteFile(filepath.Join(dir, "toil.yaml"), yml, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir, proxy
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func setVersion(t *testing.T, dir, v string) {
	t.Helper()
	src := fmt.Sprintf("package web\n\n// Version is what the tests edit to see a new build serving.\nconst Version = %q\n", v)
	if err := os.WriteFile(filepath.Join(dir, "web", "version.go"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
}

// toil runs one command to its end in dir and returns its output.
func toil(t *testing.T, dir, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Dir = dir
	cmd.Env = append(testEnv(), childEnv+"="+name)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("toil %s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

func sha(t *testing.T, path string) [32]byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(data)
}

func TestBuildReproducible(t *testing.T) {
	t.Parallel()
	dir, _ := fixture(t)
	// In a clean git repository, the commit is stamped into each binary.
	if err := os.WriteFile(filepath.Join(dir, ".gitignore"), []byte(".toil/\n/one/\n/two/\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"init", "-q"}, {"add", "-A"}, {"-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "-m", "fixture"}, {"tag", "release-fixture-7"}} {
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %s: %v\n%s", args[0], err, out)
		}
	}
	head, err := exec.Command("git", "-C", dir, "rev-parse", "HEAD").Output()
	if err != nil {
		t.Fatal(err)
	}
	toil(t, dir, "build", "--out", "one")
	// A fresh build: nothing of the first one's staging is reused.
	if err := os.RemoveAll(filepath.Join(dir, ".toil")); err != nil {
		t.Fatal(err)
	}
	out := toil(t, dir, "build", "--out", "two")
	for _, name := range []string{"app-web", "app-worker"} {
		if !strings.Contains(out, filepath.Join("two", name)) {
			t.Errorf("toil build did not list %s:\n%s", name, out)
		}
		a, b := sha(t, filepath.Join(dir, "one", name)), sha(t, filepath.Join(dir, "two", name))
		if a != b {
			t.Errorf("%s: two builds of the same source differ: %x vs %x", name, a, b)
		}
		info, err := buildinfo.ReadFile(filepath.Join(dir, "two", name))
		if err != nil {
			t.Fatal(err)
		}
		settings := map[string]string{}
		for _, s := range info.Settings {
			settings[s.Key] = s.Value
		}
		if settings["-trimpath"] != "true" {
			t.Errorf("%s was not built with -trimpath: %v", name, info.Settings)
		}
		if settings["vcs.revision"] != strings.TrimSpace(string(head)) || settings["vcs.modified"] != "false" {
			t.Errorf("%s: vcs.revision %q, vcs.modified %q; want %s, false", name, settings["vcs.revision"], settings["vcs.modified"], head)
		}
		// -trimpath keeps -ldflags out of the build info, so look for the
		// stamped version (git describe: the tag) in the binary itself.
		bin, err := os.ReadFile(filepath.Join(dir, "two", name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(bin, []byte("release-fixture-7")) {
			t.Errorf("%s: toil.Version is not stamped with git describe's release-fixture-7", name)
		}
		if strings.Contains(info.String(), dir) {
			t.Errorf("%s's build info names the build directory %s", name, dir)
		}
	}
}

// upProcess is a running toil up; its output is kept for failures.
type upProcess struct {
	cmd   *exec.Cmd
	out   *lockedBuf
	lines chan string
	done  chan error
}

// waitFor waits until toil up has written, in any order, a line
// containing each of wants, and fails the test if it exits first.
func (p *upProcess) waitFor(t *testing.T, wants ...string) {
	t.Helper()
	// A bound for a toil up that never says it, not a speed check.
	limit := time.After(2 * time.Minute)
	left := append([]string{}, wants...)
	for len(left) > 0 {
		select {
		case line := <-p.lines:
			left = slices.DeleteFunc(left, func(w string) bool { return strings.Contains(line, w) })
		case <-limit:
			t.Fatalf("toil up did not say %q:\n%s", left, p.out)
		case err := <-p.done:
			p.done <- err
			t.Fatalf("toil up exited (%v) before it said %q:\n%s", err, left, p.out)
		}
	}
}

type lockedBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *lockedBuf) add(s string) { b.mu.Lock(); b.b.WriteString(s + "\n"); b.mu.Unlock() }
func (b *lockedBuf) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// startUp starts toil up in dir and waits until it says it is ready; the
// test's cleanup stops it and waits for it.
func startUp(t *testing.T, dir string, args ...string) *upProcess {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Dir = dir
	// Workers watch their config file themselves unless told not to: off,
	// a config reload is toil up's SIGHUP.
	cmd.Env = append(testEnv(), childEnv+"=up", "TOIL_CONFIG_WATCH=off")
	cmd.Stderr = cmd.Stdout
	pr, pw := io.Pipe()
	cmd.Stdout = pw
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &upProcess{cmd: cmd, out: &lockedBuf{}, lines: make(chan string, 1<<16), done: make(chan error, 1)}
	scanned := make(chan struct{})
	go func() {
		defer close(scanned)
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			line := sc.Text()
			p.out.add(line)
			select {
			case p.lines <- line:
			default: // a test that reads no more lines
			}
		}
		_, _ = io.Copy(io.Discard, pr)
	}()
	go func() {
		err := cmd.Wait()
		pw.Close()
		<-scanned
		p.done <- err
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		if err := <-p.done; err != nil {
			t.Errorf("toil up did not stop cleanly: %v\n%s", err, p.out)
		}
	})
	p.waitFor(t, "TEST READY ")
	return p
}

func get(c *http.Client, url string) (string, error) {
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

// underLoad runs clients that GET url in a loop until f returns, and
// returns how many requests were made and the failures.
func underLoad(t *testing.T, url string, clients int, f func()) (int64, []string) {
	t.Helper()
	var n atomic.Int64
	var mu sync.Mutex
	var failures []string
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := &http.Client{Timeout: 30 * time.Second}
			defer c.CloseIdleConnections()
			for ctx.Err() == nil {
				_, err := get(c, url)
				n.Add(1)
				if err != nil {
					mu.Lock()
					failures = append(failures, err.Error())
					mu.Unlock()
				}
			}
		}()
	}
	f()
	cancel()
	wg.Wait()
	return n.Load(), failures
}

func TestUpServesAndReloadsUnderLoad(t *testing.T) {
	t.Parallel()
	dir, proxy := fixture(t)
	setVersion(t, dir, "v1")
	toil(t, dir, "build")
	p := startUp(t, dir)
	url := "http://" + proxy + "/"
	c := &http.Client{Timeout: 30 * time.Second}
	defer c.CloseIdleConnections()
	body, err := get(c, url)
	if err != nil || !strings.HasPrefix(body, "hello from v1 (worker ") {
		t.Fatalf("GET %s through toil up's proxy = %q, %v; want hello from v1\n%s", url, body, err, p.out)
	}

	// New binaries in place: the running workers keep the old ones until
	// the reload, which must not fail a request.
	setVersion(t, dir, "v2")
	toil(t, dir, "build")
	if body, _ := get(c, url); !strings.Contains(body, "v1") {
		t.Fatalf("after toil build, before reload, GET = %q; want v1 still", body)
	}
	var out string
	n, failures := underLoad(t, url, 8, func() { out = toil(t, dir, "reload") })
	if len(failures) > 0 {
		t.Errorf("%d of %d requests failed during toil up reload, first: %s\n%s", len(failures), n, failures[0], p.out)
	}
	if !strings.Contains(out, "every worker replaced") {
		t.Errorf("toil up reload said %q", out)
	}
	for i := range 4 {
		if body, err := get(c, url); err != nil || !strings.Contains(body, "v2") {
			t.Fatalf("GET %d after reload = %q, %v; want v2", i, body, err)
		}
	}
	t.Logf("%d requests during the reload, none failed", n)
	if !strings.Contains(p.out.String(), "reload: done") {
		t.Errorf("toil up did not say the reload was done:\n%s", p.out)
	}
}

func TestUpWithoutBinaries(t *testing.T) {
	t.Parallel()
	dir, _ := fixture(t)
	cmd := exec.Command(os.Args[0])
	cmd.Dir = dir
	cmd.Env = append(testEnv(), childEnv+"=up")
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("toil up without toil build succeeded:\n%s", out)
	}
	if !strings.Contains(string(out), "app-web") || !strings.Contains(string(out), "run toil build") {
		t.Errorf("toil up without binaries said:\n%s\nwant the missing binary and toil build", out)
	}
}

// TestNginxInFrontOfUp puts a real nginx, configured by toil export nginx
// for the same layout, in front of toil up: requests reach toil up's web
// workers, and toil up reload under load through nginx fails none.
func TestNginxInFrontOfUp(t *testing.T) {
	t.Parallel()
	nginx, err := exec.LookPath("nginx")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("nginx is not installed; .ci/run installs it")
		}
		t.Skip("nginx is not installed; .ci/run installs it")
	}
	dir, _ := fixture(t)
	// nginx reaches web at a fixed address; toil up's own proxy stays on
	// its free port, and nginx takes the proxy role on another.
	webAddr := freeAddr(t)
	yml, err := os.ReadFile(filepath.Join(dir, "toil.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	yml = bytes.Replace(yml, []byte("listen: auto"), []byte(fmt.Sprintf("listen: %q", webAddr)), 1)
	if err := os.WriteFile(filepath.Join(dir, "toil.yaml"), yml, 0o644); err != nil {
		t.Fatal(err)
	}
	setVersion(t, dir, "v1")
	toil(t, dir, "build")
	p := startUp(t, dir)

	nginxAddr := freeAddr(t)
	lay, err := layout.Parse("toil.yaml", regexp.MustCompile(`listen: "127\.0\.0\.1:\d+"\n  routes`).ReplaceAll(yml, []byte(fmt.Sprintf("listen: %q\n  routes", nginxAddr))))
	if err != nil {
		t.Fatal(err)
	}
	files, err := export.Nginx(lay, export.Options{Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	ndir := t.TempDir()
	if err := os.WriteFile(filepath.Join(ndir, files[0].Name), files[0].Data, 0o644); err != nil {
		t.Fatal(err)
	}
	conf := fmt.Sprintf(`pid %[1]s/nginx.pid;
error_log stderr;
worker_processes 1;
events { worker_connections 256; }
http {
    access_log off;
    client_body_temp_path %[1]s/body;
    proxy_temp_path %[1]s/proxy;
    fastcgi_temp_path %[1]s/fastcgi;
    uwsgi_temp_path %[1]s/uwsgi;
    scgi_temp_path %[1]s/scgi;
    include %[1]s/%[2]s;
}
`, ndir, files[0].Name)
	if err := os.WriteFile(filepath.Join(ndir, "nginx.conf"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(nginx, "-e", "stderr", "-p", ndir, "-c", filepath.Join(ndir, "nginx.conf"), "-g", "daemon off;")
	var stderr lockedBuf
	cmd.Stderr = writerFunc(func(b []byte) { stderr.add(string(b)) })
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		// SIGQUIT: nginx's graceful stop; the master waits for its workers.
		_ = cmd.Process.Signal(syscall.SIGQUIT)
		<-exited
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		c, err := (&net.Dialer{}).DialContext(ctx, "tcp", nginxAddr)
		if err == nil {
			c.Close()
			break
		}
		select {
		case err := <-exited:
			exited <- err
			t.Fatalf("nginx exited: %v\n%s", err, stderr.String())
		case <-ctx.Done():
			t.Fatalf("nginx did not listen on %s: %v\n%s", nginxAddr, err, stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
	}

	url := "http://" + nginxAddr + "/some/page"
	c := &http.Client{Timeout: 30 * time.Second}
	defer c.CloseIdleConnections()
	if body, err := get(c, url); err != nil || !strings.HasPrefix(body, "hello from v1 (worker ") {
		t.Fatalf("GET %s through nginx = %q, %v; want web's hello from v1\n%s\n%s", url, body, err, stderr.String(), p.out)
	}
	setVersion(t, dir, "v2")
	toil(t, dir, "build")
	n, failures := underLoad(t, url, 8, func() { toil(t, dir, "reload") })
	if len(failures) > 0 {
		t.Errorf("%d of %d requests through nginx failed during toil up reload, first: %s\n%s", len(failures), n, failures[0], stderr.String())
	}
	if body, err := get(c, url); err != nil || !strings.Contains(body, "v2") {
		t.Errorf("GET through nginx after reload = %q, %v; want v2", body, err)
	}
	t.Logf("%d requests through nginx during the reload, none failed", n)
}

type writerFunc func([]byte)

func (f writerFunc) Write(b []byte) (int, error) { f(b); return len(b), nil }

// TestUpHangup: SIGHUP makes toil up re-read toil.yaml (web scaled from 2
// to 3 workers) and every worker reload its config (a new greeting),
// without a restart.
func TestUpHangup(t *testing.T) {
	t.Parallel()
	dir, proxy := fixture(t)
	toil(t, dir, "build")
	p := startUp(t, dir)
	url := "http://" + proxy + "/"
	c := &http.Client{Timeout: 30 * time.Second}
	defer c.CloseIdleConnections()
	if body, err := get(c, url); err != nil || !strings.HasPrefix(body, "hello ") {
		t.Fatalf("GET = %q, %v; want hello", body, err)
	}
	yml, err := os.ReadFile(filepath.Join(dir, "toil.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	yml = bytes.Replace(yml, []byte("procs: 2"), []byte("procs: 3"), 1)
	if err := os.WriteFile(filepath.Join(dir, "toil.yaml"), yml, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "toil.config.yaml"), []byte("web:\n  greeting: howdy\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	// Worker 3 starts with the new config; 1 and 2 reload theirs.
	p.waitFor(t, "scaled web", "SIGHUP: workers told to reload", "web.1 reloaded its config", "web.2 reloaded its config")
	for i := range 6 {
		if body, err := get(c, url); err != nil || !strings.HasPrefix(body, "howdy from v1") {
			t.Fatalf("GET %d after SIGHUP = %q, %v; want howdy from v1\n%s", i, body, err, p.out)
		}
	}
}
