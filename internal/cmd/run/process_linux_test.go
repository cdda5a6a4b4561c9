package run

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/toilhq/toil/internal/cmdutil"
	"github.com/toilhq/toil/internal/shim"
)

// TestMain lets the test binary be `toil run` itself, so the tests below can
// signal and kill a real toil process and watch its workers.
func TestMain(m *testing.M) {
	if os.Getenv("TOIL_RUN_TEST_MAIN") == "1" && shim.Invoked(os.Args[1:]) {
		shim.Main(os.Args[1:]) // a worker that inherits a socket starts through it
	}
	if os.Getenv("TOIL_RUN_TEST_MAIN") == "1" {
		f := &cmdutil.Factory{IO: cmdutil.System()}
		cmd := NewCmdRun(f, nil)
		cmd.SetArgs(os.Args[1:])
		cmd.SilenceUsage, cmd.SilenceErrors = true, true
		err := cmd.Execute()
		if err != nil && err.Error() != "" {
			fmt.Fprintf(os.Stderr, "toil: %s\n", err)
		}
		os.Exit(cmdutil.ExitCode(err))
	}
	code := m.Run()
	if fixtureBase != "" {
		os.RemoveAll(fixtureBase)
	}
	os.Exit(code)
}

const foreverSrc = `package svc

import (
	"context"
	"fmt"
	"os"

	"github.com/toilhq/toil"
)

// Forever says its pid and runs until toil stops it.
func Forever(ctx context.Context, s *toil.S) error {
	fmt.Printf("pid %d\n", os.Getpid())
	<-ctx.Done()
	return nil
}
`

const serverSrc = `package web

import (
	"context"
	"fmt"
	"net/http"
	"os"

	"github.com/toilhq/toil"
)

// Server says which worker answered.
type Server struct {
	toil.Base[struct{}]
	HTTP toil.HTTP
}

func (s *Server) Setup(ctx context.Context) error {
	s.HTTP.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s worker %d pid %d", s.Service(), s.Worker(), os.Getpid())
	})
	return nil
}
`

var (
	moduleOnce  sync.Once
	fixtureBase string // removed by TestMain
	moduleDir   string
	moduleErr   error
	cacheDir    string
	goCache     string
)

// fixture is a module with a long-running service, using this checkout's
// toil; its toil cache is shared by the tests, so the service builds once.
func fixture(t *testing.T) (dir string, env []string) {
	t.Helper()
	moduleOnce.Do(func() {
		fixtureBase, moduleErr = os.MkdirTemp("", "toil-run-test-")
		if moduleErr != nil {
			return
		}
		moduleDir, cacheDir = filepath.Join(fixtureBase, "app"), filepath.Join(fixtureBase, "cache")
		src, _ := filepath.Abs("../../..")
		files := map[string]string{
			"go.mod":         "module example.com/app\n\ngo 1.26\n\nrequire github.com/toilhq/toil v0.0.0\n\nreplace github.com/toilhq/toil => " + src + "\n",
			"svc/forever.go": foreverSrc,
			"web/server.go":  serverSrc,
			"toil.yaml":      "name: app\nservices:\n  web: {run: web.server, procs: 2, listen: auto}\n",
		}
		for name, content := range files {
			p := filepath.Join(moduleDir, name)
			if moduleErr = os.MkdirAll(filepath.Dir(p), 0o755); moduleErr != nil {
				return
			}
			if moduleErr = os.WriteFile(p, []byte(content), 0o644); moduleErr != nil {
				return
			}
		}
		var out []byte
		out, moduleErr = exec.Command("go", "env", "GOCACHE").Output()
		goCache = strings.TrimSpace(string(out))
	})
	if moduleErr != nil {
		t.Fatal(moduleErr)
	}
	env = append(os.Environ(),
		"TOIL_RUN_TEST_MAIN=1",
		"XDG_CACHE_HOME="+cacheDir,
		"GOCACHE="+goCache, // not under XDG_CACHE_HOME: keep the go build cache warm
		"GOFLAGS=-mod=mod",
		"GOSUMDB=off",
		"GOTOOLCHAIN=local",
	)
	return moduleDir, env
}

// toilProc is a running `toil run svc.forever --procs n`.
type toilProc struct {
	cmd     *exec.Cmd
	pids    []int // the workers'
	fds     []int // a pidfd per worker: it names that very process even after it is gone, and polls readable once it exits
	drained chan struct{}
}

// wait waits for toil's output to end, then for toil.
func (p *toilProc) wait() error {
	<-p.drained
	return p.cmd.Wait()
}

// startToil starts toil and returns once every worker has said its pid.
func startToil(t *testing.T, procs int) *toilProc {
	t.Helper()
	dir, env := fixture(t)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "svc.forever", "--procs", strconv.Itoa(procs))
	cmd.Dir, cmd.Env = dir, env
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &toilProc{cmd: cmd, drained: make(chan struct{})}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-p.drained
		_ = cmd.Wait()
	})
	var pids, fds []int
	sc := bufio.NewScanner(stdout)
	for len(pids) < procs && sc.Scan() {
		// "svc.forever.2 | pid 1234"
		_, after, ok := strings.Cut(sc.Text(), "| pid ")
		if !ok {
			continue
		}
		pid, err := strconv.Atoi(after)
		if err != nil {
			t.Fatalf("bad pid line %q", sc.Text())
		}
		fd, err := unix.PidfdOpen(pid, 0)
		if err != nil {
			t.Fatalf("pidfd_open(%d): %v", pid, err)
		}
		pids, fds = append(pids, pid), append(fds, fd)
		t.Cleanup(func() {
			// Should a worker have survived, end it: no test leaves one behind.
			_ = unix.PidfdSendSignal(fd, unix.SIGKILL, nil, 0)
			unix.Close(fd)
		})
	}
	go func() {
		defer close(p.drained)
		_, _ = io.Copy(io.Discard, stdout) // until toil exits
	}()
	if len(pids) < procs {
		_ = p.wait()
		t.Fatalf("toil printed %d worker pids, want %d; stderr:\n%s", len(pids), procs, stderr.String())
	}
	p.pids, p.fds = pids, fds
	return p
}

// exited polls a pidfd: true once its process has exited.
func exited(t *testing.T, fd, timeoutMs int) bool {
	t.Helper()
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	for {
		n, err := unix.Poll(fds, timeoutMs)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			t.Fatalf("poll pidfd: %v", err)
		}
		return n == 1
	}
}

func TestInterruptStopsEveryWorker(t *testing.T) {
	t.Parallel()
	p := startToil(t, 3)
	if err := p.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	if err := p.wait(); err != nil {
		t.Fatalf("toil after SIGINT: %v, want a clean exit", err)
	}
	// toil has returned: every worker must already be gone (no waiting).
	for i, fd := range p.fds {
		if !exited(t, fd, 0) {
			t.Errorf("worker pid %d is still running after toil exited", p.pids[i])
		}
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", p.pids[i])); err == nil {
			t.Errorf("/proc/%d still exists: worker not reaped", p.pids[i])
		}
	}
}

func TestKilledToilTakesItsWorkers(t *testing.T) {
	t.Parallel()
	p := startToil(t, 3)
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = p.wait()
	// SIGKILL gives toil no chance to stop anyone: the workers die of their
	// parent-death signal. Wait for each exit (the event; the minute is only
	// there so a survivor fails the test instead of hanging it).
	for i, fd := range p.fds {
		if !exited(t, fd, 60_000) {
			t.Errorf("worker pid %d outlived toil by a minute", p.pids[i])
		}
	}
}

// A service toil.yaml gives a listen address runs under its toil.yaml name
// on that address, its workers sharing one socket, as under toil dev.
func TestLayoutListenSharedByWorkers(t *testing.T) {
	t.Parallel()
	dir, env := fixture(t)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "web.server", "--procs", "2")
	cmd.Dir, cmd.Env = dir, env
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 100)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGINT)
		for range lines {
		}
		_ = cmd.Wait()
	})
	var addr string
	var seen []string
	for line := range lines {
		seen = append(seen, line)
		if _, after, ok := strings.Cut(line, "toil: web listens on "); ok {
			addr, _, _ = strings.Cut(after, " ")
			break
		}
	}
	if addr == "" {
		t.Fatalf("toil run never said where web listens:\n%s", strings.Join(seen, "\n"))
	}
	// Both workers answer on the one address; ask, a new connection each
	// time (a kept-alive one stays with its worker), until each has.
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	workers := map[string]bool{}
	for i := 0; i < 2000 && len(workers) < 2; i++ {
		resp, err := client.Get("http://" + addr + "/")
		if err != nil {
			continue // the first worker is not ready yet: the socket queues, so this is rare
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.HasPrefix(string(body), "web worker ") {
			t.Fatalf("GET / = %q, want the service named web (its toil.yaml name) to answer", body)
		}
		f := strings.Fields(string(body))
		workers[f[2]] = true
	}
	if len(workers) != 2 {
		t.Errorf("answers came from workers %v, want both of the 2 sharing the socket", workers)
	}
}
