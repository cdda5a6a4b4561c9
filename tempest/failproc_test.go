//go:build linux

package tempest

import (
	"bytes"
	"encoding/json"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/toilhq/toil/internal/runner"
)

// The failure tests run tempest's stages as separate processes, the way
// toil dev and toil up run them: one binary per stage, built from the very
// main `toil run` generates (runner.MainSource) mapped into the module with
// -overlay, and each worker started with the worker protocol's environment
// (REDIS_URL, NATS_URL, TOIL_CONFIG, NOTIFY_SOCKET, PORT, TOIL_ADMIN_ADDR).
// Everything here is prefixed fail: other files of package tempest are
// written by others.

// failStageTypes maps a stage's service name to its struct type in this
// package.
var failStageTypes = map[string]string{
	"tempest.inventory":  "Inventory",
	"tempest.warmer":     "Warmer",
	"tempest.prefilter":  "Prefilter",
	"tempest.scorer":     "Scorer",
	"tempest.postfilter": "Postfilter",
	"tempest.pusher":     "Pusher",
	"tempest.web":        "Web",
	"tempest.stats":      "Stats",
}

// failBinaries builds the named stages with one go build into dir and
// returns each binary's path by service name. The generated mains are
// virtual files inside the module (nothing is written into the tree).
func failBinaries(t *testing.T, dir string, names ...string) map[string]string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	mod, err := runner.FindModule(wd)
	if err != nil {
		t.Fatalf("find the module: %v", err)
	}
	const importPath = runner.ToilPath + "/tempest"
	replace := map[string]string{}
	var pkgs []string
	bins := map[string]string{}
	for _, name := range names {
		ident, ok := failStageTypes[name]
		if !ok {
			t.Fatalf("no tempest stage %q", name)
		}
		short := strings.TrimPrefix(name, "tempest.")
		src := runner.MainSource(runner.Service{Name: name, ImportPath: importPath, Ident: ident, Kind: runner.KindStruct})
		file := filepath.Join(dir, "src", short+".go")
		if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(file, src, 0o644); err != nil {
			t.Fatal(err)
		}
		// A directory that exists nowhere but in the overlay: the package
		// path names the binary.
		pkgDir := filepath.Join(mod.Root, "tempest", "internal", "failmain", "tempest-"+short)
		replace[filepath.Join(pkgDir, "main.go")] = file
		pkgs = append(pkgs, pkgDir)
		bins[name] = filepath.Join(dir, "bin", "tempest-"+short)
	}
	overlay, err := json.Marshal(map[string]any{"Replace": replace})
	if err != nil {
		t.Fatal(err)
	}
	ovFile := filepath.Join(dir, "overlay.json")
	if err := os.WriteFile(ovFile, overlay, 0o644); err != nil {
		t.Fatal(err)
	}
	args := append([]string{"build", "-overlay", ovFile, "-o", filepath.Join(dir, "bin") + string(filepath.Separator)}, pkgs...)
	cmd := exec.Command("go", args...)
	cmd.Dir = mod.Root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return bins
}

// failLog is a process's output, kept for the failure message of a test.
type failLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *failLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	// The last 64 KiB say why a worker failed; a chatty one must not
	// grow the test's memory without bound.
	if l.buf.Len() > 256<<10 {
		tail := append([]byte(nil), l.buf.Bytes()[l.buf.Len()-64<<10:]...)
		l.buf.Reset()
		l.buf.Write(tail)
	}
	return l.buf.Write(p)
}

func (l *failLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// failProc is one stage worker process started by a test.
type failProc struct {
	Name   string // service name, e.g. tempest.pusher
	Worker int    // TOIL_WORKER
	Port   int    // PORT, for an HTTP stage; 0 otherwise
	Admin  string // TOIL_ADMIN_ADDR: /metrics, /healthz

	cmd    *exec.Cmd
	log    *failLog
	notify *net.UnixConn
	done   chan struct{} // closed when the process has been reaped
	err    error         // its exit status, once done is closed
}

// failProcOpts say how to start a worker.
type failProcOpts struct {
	Worker int      // TOIL_WORKER, 1 when 0
	HTTP   bool     // give it a PORT of its own
	Env    []string // REDIS_URL, NATS_URL, ...
	Config string   // TOIL_CONFIG: the config file every stage reads its section from
}

// failStart starts a stage worker and waits until it says READY=1 on its
// NOTIFY_SOCKET. The worker dies with the test binary (Pdeathsig) and is
// stopped when the test ends.
func failStart(t *testing.T, bin, name string, o failProcOpts) *failProc {
	t.Helper()
	p := failLaunch(t, bin, name, o)
	p.waitReady(t)
	return p
}

// failLaunch starts a worker without waiting for it to be ready.
func failLaunch(t *testing.T, bin, name string, o failProcOpts) *failProc {
	t.Helper()
	if o.Worker == 0 {
		o.Worker = 1
	}
	// A unix socket path is limited to 108 bytes: a short temp dir, not
	// t.TempDir under a long test name.
	sockDir, err := os.MkdirTemp("", "tempest-fail")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(sockDir) })
	notifyPath := filepath.Join(sockDir, "notify")
	notify, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: notifyPath, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	p := &failProc{Name: name, Worker: o.Worker, log: &failLog{}, notify: notify, done: make(chan struct{})}
	p.Admin = net.JoinHostPort("127.0.0.1", strconv.Itoa(failFreePort(t)))
	env := append(os.Environ(),
		"TOIL_SERVICE="+name, "TOIL_WORKER="+strconv.Itoa(o.Worker), "TOIL_ENV=dev",
		"TOIL_ADMIN_ADDR="+p.Admin, "NOTIFY_SOCKET="+notifyPath, "TOIL_CONFIG="+o.Config,
		"LOG_LEVEL=info")
	if o.HTTP {
		p.Port = failFreePort(t)
		env = append(env, "PORT="+strconv.Itoa(p.Port))
	}
	p.cmd = exec.Command(bin)
	p.cmd.Env = append(env, o.Env...)
	p.cmd.Stdout, p.cmd.Stderr = p.log, p.log
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // never outlives the test binary
	if err := p.cmd.Start(); err != nil {
		notify.Close()
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.Stop()
		notify.Close()
	})
	return p
}

// waitReady reads the worker's NOTIFY_SOCKET until READY=1, failing the
// test if the worker exits first or is not ready within two minutes (a
// cold machine running every other package's tests too).
func (p *failProc) waitReady(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	buf := make([]byte, 4096)
	for time.Now().Before(deadline) {
		select {
		case <-p.done:
			t.Fatalf("%s.%d exited before it was ready: %v\n%s", p.Name, p.Worker, p.err, p.log)
		default:
		}
		// Short reads, so an exit is noticed without a second goroutine.
		_ = p.notify.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		n, err := p.notify.Read(buf)
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				continue
			}
			t.Fatalf("%s.%d: read NOTIFY_SOCKET: %v", p.Name, p.Worker, err)
		}
		if strings.Contains(string(buf[:n]), "READY=1") {
			return
		}
	}
	t.Fatalf("%s.%d not ready after 2m\n%s", p.Name, p.Worker, p.log)
}

// Addr is the worker's HTTP address.
func (p *failProc) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(p.Port)) }

// Kill SIGKILLs the worker and waits until it is reaped.
func (p *failProc) Kill() {
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// Stop stops the worker as a supervisor does: SIGTERM, then SIGKILL after
// 10s. Stopping a stopped worker does nothing.
func (p *failProc) Stop() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		p.Kill()
	}
}

// Exited reports whether the worker has exited, and how.
func (p *failProc) Exited() (bool, error) {
	select {
	case <-p.done:
		return true, p.err
	default:
		return false, nil
	}
}

// Log is what the worker printed so far.
func (p *failProc) Log() string { return p.log.String() }

// failFreePort picks a loopback port nobody listens on now.
func failFreePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("pick a free port: %v", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// failEventually polls cond every 50ms until it holds, failing the test
// with what() if it does not within limit. The limit bounds a broken
// pipeline; it is no timing assertion.
func failEventually(t *testing.T, limit time.Duration, cond func() bool, what func() string) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %s: %s", limit, what())
		}
		time.Sleep(50 * time.Millisecond)
	}
}
