//go:build linux

package supervise

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/toilhq/toil/internal/shim"
	"github.com/toilhq/toil/layout"
)

func listenLoopback(t testing.TB) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

// Stop leaves no process behind: workers that drain on SIGTERM exit
// cleanly, one that ignores it is killed after its stop_timeout.
func TestStopLeavesNoProcess(t *testing.T) {
	t.Parallel()
	stubborn := mainSvc("stubborn", 1)
	stubborn.StopTimeout = 300 * time.Millisecond
	l := testLayout(t, runSvc("web", 2), mainSvc("legacy", 1), stubborn)
	h := newHarness(t)
	sv, err := New(h.options(l))
	if err != nil {
		t.Fatal(err)
	}
	h.sv = sv
	if err := sv.Start(context.Background(), map[string]string{"web": bin.worker, "legacy": bin.plain, "stubborn": bin.plainStubborn}); err != nil {
		t.Fatal(err)
	}
	h.waitReady()
	var pids []int
	for _, e := range h.waitEvents("4 workers to start", 4, func(e Event) bool { return e.Kind == EventStarted }) {
		pids = append(pids, e.PID)
	}
	if len(pids) != 4 {
		t.Fatalf("started %v, want 4 workers", pids)
	}
	webAddr := h.addr("web")
	if err := sv.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, pid := range pids {
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); err == nil {
			t.Errorf("worker %d still exists after Stop", pid)
		}
	}
	exits := h.eventsOf(func(e Event) bool { return e.Kind == EventExited })
	if len(exits) != 4 {
		t.Fatalf("exit events: %v", exits)
	}
	for _, e := range exits {
		want := "exit status 0"
		if e.Service == "stubborn" {
			want = "killed (SIGKILL) after its stop timeout"
		}
		if e.Reason != want || !e.Expected {
			t.Errorf("%s.%d ended with %q (expected %v), want %q", e.Service, e.Worker, e.Reason, e.Expected, want)
		}
	}
	if crashes := h.eventsOf(func(e Event) bool { return e.Kind == EventCrashed }); len(crashes) > 0 {
		t.Errorf("Stop restarted workers: %v", crashes)
	}
	// The sockets are closed: the address refuses connections.
	if c, err := net.Dial("tcp", webAddr); err == nil {
		c.Close()
		t.Errorf("web's address still accepts connections after Stop")
	}
	if err := sv.Roll(context.Background(), "web", ""); err != ErrStopped {
		t.Errorf("Roll after Stop = %v, want ErrStopped", err)
	}
}

const (
	childEnv       = "SUPERVISE_TEST_CHILD"     // state dir: run as a supervisor child
	childPdeathEnv = "SUPERVISE_TEST_PDEATHSIG" // "0": no parent-death signal
)

// runChild is the supervisor run as a child process: two services from the
// fixtures, its state in dir. It prints its workers' pids once they are
// ready, then waits to be killed.
func runChild(dir string) int {
	l := &layout.Layout{Name: "child", Dir: dir, Services: []*layout.Service{runSvc("web", 2), mainSvc("legacy", 1)}}
	l.Default()
	sv, err := New(Options{
		Layout:      l,
		Shim:        []string{mustExe(), shim.Arg},
		StateDir:    filepath.Join(dir, "state"),
		noPdeathsig: os.Getenv(childPdeathEnv) == "0",
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	bins := strings.Split(os.Getenv("SUPERVISE_TEST_BINS"), ":")
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	if err := sv.Start(ctx, map[string]string{"web": bins[0], "legacy": bins[1]}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := sv.WaitReady(ctx); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	var pids []string
	for _, st := range sv.Status() {
		for _, w := range st.Workers {
			pids = append(pids, strconv.Itoa(w.PID))
		}
	}
	fmt.Println("PIDS", strings.Join(pids, " "))
	io.Copy(io.Discard, os.Stdin) // until killed
	return 0
}

func mustExe() string {
	exe, err := os.Executable()
	if err != nil {
		panic(err)
	}
	return exe
}

// startChild runs the supervisor in a child process and returns it with its
// workers' pids.
func startChild(t *testing.T, dir string, pdeathsig bool) (*exec.Cmd, []int) {
	t.Helper()
	cmd := exec.Command(self, "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+dir, "SUPERVISE_TEST_BINS="+bin.worker+":"+bin.plain)
	if !pdeathsig {
		cmd.Env = append(cmd.Env, childPdeathEnv+"=0")
	}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		cmd.Process.Kill()
		cmd.Wait()
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("the child supervisor did not report its workers: %v", err)
	}
	var pids []int
	for _, f := range strings.Fields(strings.TrimPrefix(line, "PIDS")) {
		pid, err := strconv.Atoi(f)
		if err != nil {
			t.Fatalf("child said %q", line)
		}
		pids = append(pids, pid)
	}
	if len(pids) != 3 {
		t.Fatalf("child said %q, want 3 pids", line)
	}
	// Should a test fail, its workers must not outlive it: those still
	// running a fixture binary are killed.
	t.Cleanup(func() {
		for _, pid := range pids {
			if exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid)); err == nil && strings.HasPrefix(exe, bin.dir) {
				syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	})
	return cmd, pids
}

// killChild SIGKILLs the child supervisor and reaps it.
func killChild(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
}

// Workers die with their supervisor, even when it is SIGKILLed and stops
// no one: the kernel sends them their parent-death signal.
func TestWorkersDieWithAKilledSupervisor(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cmd, pids := startChild(t, dir, true)
	killChild(t, cmd)
	for _, pid := range pids {
		waitExit(t, pid)
	}
}

// Workers left running by a killed supervisor (here: without a
// parent-death signal, as on macOS) are killed by the next supervisor
// with the same state directory, which says so, and which can then bind
// the same addresses.
func TestStaleWorkersAreKilledAtTheNextStart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cmd, pids := startChild(t, dir, false)
	killChild(t, cmd)
	for _, pid := range pids {
		if !alive(pid) {
			t.Fatalf("worker %d died with its supervisor although it had no parent-death signal", pid)
		}
	}

	// The killed supervisor's notify sockets are left too.
	var doc stateDoc
	if data, err := os.ReadFile(filepath.Join(dir, "state", stateFileName)); err != nil || json.Unmarshal(data, &doc) != nil || len(doc.Workers) != 3 {
		t.Fatalf("the state file of the killed supervisor: %v, %+v", err, doc)
	}
	if _, err := os.Stat(doc.NotifyDir); err != nil {
		t.Fatalf("notify dir of the killed supervisor: %v", err)
	}

	l := testLayout(t, runSvc("web", 1))
	h := newHarness(t)
	opts := h.options(l)
	opts.StateDir = filepath.Join(dir, "state")
	sv, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer sv.Stop(context.Background())
	stale := h.waitEvents("stale workers killed", 3, func(e Event) bool { return e.Kind == EventStaleKilled })
	var killed []int
	for _, e := range stale {
		killed = append(killed, e.PID)
		if e.Service == "" || e.Binary == "" {
			t.Errorf("stale event %v does not say what the worker was", e)
		}
	}
	slices.Sort(killed)
	slices.Sort(pids)
	if !slices.Equal(killed, pids) {
		t.Errorf("killed %v, want %v", killed, pids)
	}
	for _, pid := range pids {
		waitExit(t, pid)
	}
	if _, err := os.Stat(doc.NotifyDir); err == nil {
		t.Errorf("the killed supervisor's notify dir %s is still there", doc.NotifyDir)
	}

	// Two supervisors never share a state directory.
	_, err = New(opts)
	if err == nil || !strings.Contains(err.Error(), "is running with its state in") {
		t.Errorf("a second supervisor on the same state dir: %v, want a refusal", err)
	}
}
