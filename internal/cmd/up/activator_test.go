//go:build linux

package up

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/toilhq/toil/internal/shim"
)

// TestBinaryUnderActivator runs a binary toil build wrote the way systemd
// runs it (a socket passed through LISTEN_FDS, readiness on NOTIFY_SOCKET),
// with no toil supervisor: it gets ready, answers as it does under toil up,
// and on SIGTERM says STOPPING=1 and exits cleanly.
func TestBinaryUnderActivator(t *testing.T) {
	t.Parallel()
	dir, proxy := fixture(t)
	toil(t, dir, "build")

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	lnFile, err := ln.(*net.TCPListener).File()
	if err != nil {
		t.Fatal(err)
	}
	defer lnFile.Close()
	notifyPath := filepath.Join(t.TempDir(), "notify")
	notify, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: notifyPath, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer notify.Close()

	// LISTEN_PID must be the worker's own pid: the shim sets it and execs.
	args := shim.Command(os.Args[0], filepath.Join(dir, "bin", "app-web"))
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "LISTEN_FDS=1", "LISTEN_FDNAMES=web", "NOTIFY_SOCKET="+notifyPath,
		"TOIL_SERVICE=web", "TOIL_WORKER=1", "TOIL_ENV=prod", "TOIL_ADMIN_ADDR=127.0.0.1:0")
	cmd.ExtraFiles = []*os.File{lnFile}
	var out lockedBuf
	cmd.Stdout = writerFunc(func(b []byte) { out.add(string(b)) })
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			_ = cmd.Process.Kill()
			<-exited
		}
	})

	// readState waits for a datagram carrying want, bounded for a worker
	// that never sends it.
	readState := func(want string) {
		t.Helper()
		buf := make([]byte, 4096)
		if err := notify.SetReadDeadline(time.Now().Add(2 * time.Minute)); err != nil {
			t.Fatal(err)
		}
		for {
			n, err := notify.Read(buf)
			if err != nil {
				t.Fatalf("no %s on NOTIFY_SOCKET: %v\n%s", want, err, out.String())
			}
			if strings.Contains(string(buf[:n]), want) {
				return
			}
		}
	}
	readState("READY=1")

	c := &http.Client{Timeout: 30 * time.Second}
	defer c.CloseIdleConnections()
	alone, err := get(c, "http://"+ln.Addr().String()+"/")
	if err != nil {
		t.Fatalf("GET from the activated worker: %v\n%s", err, out.String())
	}

	// The same binary under toil up answers the same, but for which
	// worker answered.
	startUp(t, dir)
	underUp, err := get(c, "http://"+proxy+"/")
	if err != nil {
		t.Fatal(err)
	}
	trim := func(s string) string { return s[:strings.LastIndex(s, "(worker ")] }
	if !strings.HasPrefix(alone, "hello from ") || trim(alone) != trim(underUp) {
		t.Errorf("activated worker said %q, under toil up %q; want the same answer", alone, underUp)
	}

	// Drain: a request in flight when SIGTERM comes is finished, as under
	// toil up (the framework's Serve), before the worker exits.
	res, err := c.Get("http://" + ln.Addr().String() + "/slow")
	if err != nil {
		t.Fatalf("GET /slow: %v\n%s", err, out.String())
	}
	defer res.Body.Close()
	br := bufio.NewReader(res.Body)
	first, err := br.ReadString('\n')
	if err != nil || first != "slow start\n" {
		t.Fatalf("GET /slow: first line %q, %v", first, err)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	readState("STOPPING=1")
	rest, err := io.ReadAll(br)
	if err != nil || !strings.Contains(string(rest), "slow done") {
		t.Errorf("the request in flight at SIGTERM was cut: read %q, %v", rest, err)
	}
	stopped = true
	if err := <-exited; err != nil {
		t.Errorf("the activated worker did not exit cleanly on SIGTERM: %v\n%s", err, out.String())
	}
}
