package testserver

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// RedisServer is a redis-server process started for one test, on
// 127.0.0.1 and a port of its own, with persistence off and its files in a
// temp dir.
type RedisServer struct {
	t    testing.TB
	bin  string
	dir  string
	port int
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has been reaped
}

// Redis starts redis-server from PATH and stops it when the test ends. It
// skips the test, saying why, only when redis-server is not installed and
// CI is unset: under CI a missing server fails the test, so a CI machine
// that lacks it can never pass by skipping.
func Redis(t testing.TB) *RedisServer {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("redis-server is not on PATH, and CI must run this test: install it (apt-get install redis-server)")
		}
		t.Skip("redis-server is not on PATH (apt-get install redis-server); CI installs it, so CI runs this test")
	}
	r := &RedisServer{t: t, bin: bin, dir: t.TempDir()}
	// The port is free when picked but could be taken before redis binds
	// it; another port is then tried.
	var lastErr error
	for range 5 {
		r.port, err = freePort()
		if err != nil {
			t.Fatalf("testserver: %v", err)
		}
		if lastErr = r.start(); lastErr == nil {
			t.Cleanup(r.Stop)
			return r
		}
	}
	t.Fatalf("testserver: redis-server: %v", lastErr)
	return nil
}

// Addr is the server's host:port.
func (r *RedisServer) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(r.port)) }

// URL is the server's redis:// URL, as REDIS_URL holds it.
func (r *RedisServer) URL() string { return "redis://" + r.Addr() + "/0" }

// Stop stops the server (SIGTERM, then SIGKILL after 5s) and waits for
// it. Stopping a stopped server does nothing.
func (r *RedisServer) Stop() {
	if r.cmd == nil {
		return
	}
	_ = r.cmd.Process.Signal(termSignal)
	select {
	case <-r.done:
	case <-time.After(5 * time.Second):
		_ = r.cmd.Process.Kill()
		<-r.done
	}
	r.cmd = nil
}

// Kill SIGKILLs the server, a crash with nothing saved, and waits for it.
// Killing a stopped server does nothing.
func (r *RedisServer) Kill() {
	if r.cmd == nil {
		return
	}
	_ = r.cmd.Process.Kill()
	<-r.done
	r.cmd = nil
}

// Restart stops the server and starts it again on the same port with an
// empty data set, as after a crash of a server without persistence.
func (r *RedisServer) Restart() {
	r.t.Helper()
	r.Stop()
	r.Start()
}

// Start starts a stopped or killed server again on the same port, with an
// empty data set.
func (r *RedisServer) Start() {
	r.t.Helper()
	if r.cmd != nil {
		return
	}
	var err error
	// The old process has released the port; a stranger taking it in
	// between is retried for a moment.
	for range 20 {
		if err = r.start(); err == nil {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	r.t.Fatalf("testserver: restart redis-server on port %d: %v", r.port, err)
}

// start runs redis-server and waits for its "Ready to accept connections"
// line, so no test ever polls a port.
func (r *RedisServer) start() error {
	cmd := exec.Command(r.bin,
		"--port", strconv.Itoa(r.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", r.dir,
		"--loglevel", "notice", "--logfile", "")
	cmd.SysProcAttr = childAttr()
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", r.bin, err)
	}
	done := make(chan struct{})
	ready := make(chan error, 1)
	go func() {
		defer close(done)
		sc := bufio.NewScanner(out)
		var tail []string
		signalled := false
		for sc.Scan() {
			if signalled {
				continue // keep draining, or redis blocks on a full pipe
			}
			tail = append(tail, sc.Text())
			if strings.Contains(sc.Text(), "Ready to accept connections") {
				ready <- nil
				signalled = true
			}
		}
		_, _ = io.Copy(io.Discard, out)
		// Wait only after the last read: it closes the pipe.
		_ = cmd.Wait()
		if !signalled {
			ready <- fmt.Errorf("exited before it was ready:\n%s", strings.Join(tail, "\n"))
		}
	}()
	select {
	case err := <-ready:
		if err != nil {
			<-done
			return err
		}
	case <-time.After(20 * time.Second):
		_ = cmd.Process.Kill()
		<-done
		return errors.New("not ready after 20s")
	}
	r.cmd, r.done = cmd, done
	return nil
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("pick a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}
