package toil_test

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// binDir holds binaries built once per test run.
var binDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "toil-test-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

var (
	workerOnce sync.Once
	workerBin  string
	workerErr  error
)

// workerBinary builds testdata/worker, a struct service calling toil.Main,
// once for all the tests that need it.
func workerBinary(t *testing.T) string {
	t.Helper()
	workerOnce.Do(func() {
		workerBin = filepath.Join(binDir, "worker")
		out, err := exec.Command("go", "build", "-o", workerBin, "./testdata/worker").CombinedOutput()
		if err != nil {
			workerErr = fmt.Errorf("go build ./testdata/worker: %v\n%s", err, out)
		}
	})
	if workerErr != nil {
		t.Fatal(workerErr)
	}
	return workerBin
}

// notifySocket is a NOTIFY_SOCKET in the abstract namespace, as systemd
// uses, collecting what the worker sends.
type notifySocket struct {
	name string
	conn *net.UnixConn
	msgs chan string
	done chan struct{}
}

func listenNotify(t *testing.T) *notifySocket {
	t.Helper()
	name := "@toil-test-" + rand.Text()
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: name, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	n := &notifySocket{name: name, conn: conn, msgs: make(chan string, 16), done: make(chan struct{})}
	go func() {
		defer close(n.done)
		buf := make([]byte, 4096)
		for {
			k, err := conn.Read(buf)
			if err != nil {
				return
			}
			n.msgs <- string(buf[:k])
		}
	}()
	t.Cleanup(func() { conn.Close(); <-n.done })
	return n
}

// expect waits for the next message and checks it starts with want.
func (n *notifySocket) expect(t *testing.T, want string) string {
	t.Helper()
	select {
	case msg := <-n.msgs:
		if !strings.HasPrefix(msg, want) {
			t.Fatalf("NOTIFY_SOCKET got %q, want %q", msg, want)
		}
		return msg
	case <-time.After(20 * time.Second):
		t.Fatalf("NOTIFY_SOCKET: no %q within 20s", want)
	}
	return ""
}

// lockedBuffer is a bytes.Buffer safe to write from exec's copying
// goroutine while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestWorkerProtocol(t *testing.T) {
	t.Parallel()
	bin := workerBinary(t)

	// The parent holds the listening socket, as toil dev and systemd do.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	lnFile, err := ln.(*net.TCPListener).File()
	if err != nil {
		t.Fatal(err)
	}
	ln.Close()
	notify := listenNotify(t)

	// LISTEN_PID must be the worker's own pid, which the parent cannot know
	// before the fork: the shell sets it to its pid, then execs the worker
	// in its place.
	cmd := exec.Command("/bin/sh", "-c", `LISTEN_PID=$$ exec "$0" "$@"`, bin, "--greeting=hi")
	cmd.Env = []string{"LISTEN_FDS=1", "LISTEN_FDNAMES=http", "NOTIFY_SOCKET=" + notify.name, "TOIL_WORKER=3", "TOIL_CONFIG=" + writeWorkerConfig(t)}
	cmd.ExtraFiles = []*os.File{lnFile} // fd 3
	var stderr lockedBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lnFile.Close()
	exited := make(chan struct{})
	var exitErr error
	go func() { exitErr = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
	})

	notify.expect(t, "READY=1")

	// It serves on the inherited socket: the parent never accepts on it.
	if got, want := httpGet(t, "http://"+addr+"/hello"), fmt.Sprintf("hi from pid %d", cmd.Process.Pid); got != want {
		t.Errorf("GET /hello = %q, want %q", got, want)
	}
	// Its own children must not think the sockets are theirs.
	if got := httpGet(t, "http://"+addr+"/env/LISTEN_FDS"); got != `false ""` {
		t.Errorf("LISTEN_FDS in the worker after start: %s, want unset", got)
	}

	// SIGHUP reloads: RELOADING=1 (with the timestamp systemd wants), then
	// READY=1 again.
	cmd.Process.Signal(syscall.SIGHUP)
	if msg := notify.expect(t, "RELOADING=1"); !strings.Contains(msg, "\nMONOTONIC_USEC=") {
		t.Errorf("RELOADING message %q lacks MONOTONIC_USEC", msg)
	}
	notify.expect(t, "READY=1")

	// A request in flight when SIGTERM arrives: headers answered, the
	// handler waiting for the body the test has not sent yet.
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /block HTTP/1.1\r\nHost: worker\r\nContent-Length: 5\r\n\r\n")
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST /block: %s", resp.Status)
	}

	cmd.Process.Signal(syscall.SIGTERM)
	notify.expect(t, "STOPPING=1")
	select {
	case <-exited:
		t.Fatalf("the worker exited (%v) with a request in flight", exitErr)
	default:
	}
	io.WriteString(conn, "hello") // release the handler
	body, err := io.ReadAll(resp.Body)
	if err != nil || string(body) != "done:hello" {
		t.Errorf("in-flight request ended with %q, %v; want done:hello", body, err)
	}
	select {
	case <-exited:
		if exitErr != nil {
			t.Errorf("worker exit: %v, want status 0\n%s", exitErr, stderr.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the worker did not exit within 20s of its last request")
	}

	// Not a terminal: JSON, with service and worker on every line.
	lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
	if len(lines) < 3 {
		t.Fatalf("expected a few log lines, got:\n%s", stderr.String())
	}
	for _, line := range lines {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Errorf("log line is not JSON: %q", line)
			continue
		}
		if rec["service"] != "test.worker" || rec["worker"] != 3.0 {
			t.Errorf("log line lacks service=test.worker worker=3: %s", line)
		}
	}
	if strings.Contains(stderr.String(), "s3cret") {
		t.Errorf("the worker logged its secret:\n%s", stderr.String())
	}
}

func writeWorkerConfig(t *testing.T) string {
	path := filepath.Join(t.TempDir(), "toil.config.yaml")
	if err := os.WriteFile(path, []byte("test.worker:\n  password: s3cret\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestWorkerExitCodes(t *testing.T) {
	t.Parallel()
	bin := workerBinary(t)
	for _, tc := range []struct {
		args []string
		env  []string
		code int
		want string
	}{
		{[]string{"--gretting=x"}, nil, 2, "test.worker: unknown flag --gretting (did you mean --greeting?); see --help\n"},
		{nil, []string{"TOIL_CONFIG=/nonexistent/toil.config.yaml"}, 2, "test.worker: config /nonexistent/toil.config.yaml: no such file"},
		{nil, nil, 1, "serve HTTP: listen: no inherited socket and no address: set PORT"},
	} {
		cmd := exec.Command(bin, tc.args...)
		cmd.Env = tc.env
		out, err := cmd.CombinedOutput()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		}
		if code != tc.code || !strings.Contains(string(out), tc.want) {
			t.Errorf("worker %v: exit %d, output:\n%s\nwant exit %d and %q", tc.args, code, out, tc.code, tc.want)
		}
	}
}

func httpGet(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}
