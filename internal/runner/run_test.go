package runner

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestMain lets the test binary play a worker: the supervisor under test
// starts real processes, this same binary with RUNNER_TEST_WORKER set.
func TestMain(m *testing.M) {
	if mode := os.Getenv("RUNNER_TEST_WORKER"); mode != "" {
		os.Exit(testWorker(mode, os.Args[1:]))
	}
	os.Exit(m.Run())
}

func testWorker(mode string, args []string) int {
	n, _ := strconv.Atoi(os.Getenv("TOIL_WORKER"))
	switch mode {
	case "hello":
		fmt.Printf("worker %d of %s env=%s args=%s\n", n, os.Getenv("TOIL_SERVICE"), os.Getenv("TOIL_ENV"), strings.Join(args, ","))
		fmt.Fprintf(os.Stderr, "worker %d to stderr\n", n)
		return 0
	case "exit":
		code, _ := strconv.Atoi(args[0])
		return code
	case "echo":
		line, _ := bufio.NewReader(os.Stdin).ReadString('\n')
		fmt.Print("echo: " + line)
		return 0
	case "wait", "stubborn":
		sigs := make(chan os.Signal, 1)
		signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
		if mode == "stubborn" {
			signal.Ignore(syscall.SIGTERM, syscall.SIGINT)
		}
		fmt.Printf("ready %d\n", n)
		if os.Getenv("FAIL_WORKER") == strconv.Itoa(n) {
			return 3
		}
		sig := <-sigs // never arrives when stubborn: SIGKILL ends it
		fmt.Printf("got %v\n", sig)
		return 0
	case "partial":
		os.Stdout.WriteString("no newline at the end")
		return 0
	}
	return 99
}

// output collects what workers write and tells when a line matching a
// prefix has appeared n times, so tests wait on events, not on time.
type output struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	want  string
	n     int
	ready chan struct{}
}

func newOutput(want string, n int) *output {
	return &output{want: want, n: n, ready: make(chan struct{})}
}

func (o *output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.buf.Write(p)
	if o.n > 0 && strings.Count(o.buf.String(), o.want) >= o.n {
		o.n = 0
		close(o.ready)
	}
	return len(p), nil
}

func (o *output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.String()
}

func workerOptions(t *testing.T, mode string, procs int) RunOptions {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return RunOptions{
		Binary:  exe,
		Service: "hello.world",
		Procs:   procs,
		Env:     append(os.Environ(), "RUNNER_TEST_WORKER="+mode),
		Stdout:  &bytes.Buffer{},
		Stderr:  &bytes.Buffer{},
	}
}

func TestRunOneIdentityArgsAndStdio(t *testing.T) {
	t.Parallel()
	o := workerOptions(t, "hello", 1)
	o.Args = []string{"--greeting=hi", "x"}
	if err := Run(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	if got, want := o.Stdout.(*bytes.Buffer).String(), "worker 1 of hello.world env=dev args=--greeting=hi,x\n"; got != want {
		t.Errorf("stdout = %q, want %q", got, want)
	}
	if got, want := o.Stderr.(*bytes.Buffer).String(), "worker 1 to stderr\n"; got != want {
		t.Errorf("stderr = %q, want %q (unprefixed with one worker)", got, want)
	}
}

func TestRunKeepsTOILENVAndReplacesIdentity(t *testing.T) {
	t.Parallel()
	o := workerOptions(t, "hello", 1)
	o.Env = append(o.Env, "TOIL_ENV=staging", "TOIL_SERVICE=stale", "TOIL_WORKER=7")
	if err := Run(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	if got, want := o.Stdout.(*bytes.Buffer).String(), "worker 1 of hello.world env=staging args=\n"; got != want {
		t.Errorf("stdout = %q, want %q", got, want)
	}
}

func TestRunOnePassesExitStatusAndStdin(t *testing.T) {
	t.Parallel()
	o := workerOptions(t, "exit", 1)
	o.Args = []string{"7"}
	err := Run(context.Background(), o)
	var we *WorkerExit
	if !errors.As(err, &we) || we.Code != 7 || we.Signal != 0 {
		t.Fatalf("Run = %v, want a *WorkerExit with status 7", err)
	}

	o = workerOptions(t, "echo", 1)
	o.Stdin = strings.NewReader("from stdin\n")
	if err := Run(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	if got := o.Stdout.(*bytes.Buffer).String(); got != "echo: from stdin\n" {
		t.Errorf("stdout = %q", got)
	}
}

func TestRunOneForwardsSignals(t *testing.T) {
	t.Parallel()
	o := workerOptions(t, "wait", 1)
	out := newOutput("ready", 1)
	o.Stdout = out
	sigs := make(chan os.Signal, 1)
	o.Signals = sigs
	done := make(chan error, 1)
	go func() { done <- Run(context.Background(), o) }()
	<-out.ready
	sigs <- syscall.SIGTERM
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "got terminated") {
		t.Errorf("worker did not get SIGTERM; output %q", out.String())
	}
}

func TestRunManyPrefixesEveryLine(t *testing.T) {
	t.Parallel()
	o := workerOptions(t, "hello", 3)
	if err := Run(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	stdout := o.Stdout.(*bytes.Buffer).String()
	stderr := o.Stderr.(*bytes.Buffer).String()
	for n := 1; n <= 3; n++ {
		want := fmt.Sprintf("hello.world.%d | worker %d of hello.world env=dev args=\n", n, n)
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
		want = fmt.Sprintf("hello.world.%d | worker %d to stderr\n", n, n)
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	if got := strings.Count(stdout, "\n"); got != 3 {
		t.Errorf("stdout has %d lines, want 3:\n%s", got, stdout)
	}
}

func TestRunManyEndsAPartialLine(t *testing.T) {
	t.Parallel()
	o := workerOptions(t, "partial", 2)
	if err := Run(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	stdout := o.Stdout.(*bytes.Buffer).String()
	for n := 1; n <= 2; n++ {
		if want := fmt.Sprintf("hello.world.%d | no newline at the end\n", n); !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}
}

func TestRunManyStopsAllOnSignal(t *testing.T) {
	t.Parallel()
	o := workerOptions(t, "wait", 3)
	out := newOutput("ready", 3)
	o.Stdout = out
	sigs := make(chan os.Signal, 1)
	o.Signals = sigs
	done := make(chan error, 1)
	go func() { done <- Run(context.Background(), o) }()
	<-out.ready
	sigs <- os.Interrupt
	if err := <-done; err != nil {
		t.Fatalf("Run = %v, want a clean stop", err)
	}
	// toil sends SIGTERM to workers, whatever it received itself.
	if got := strings.Count(out.String(), "got terminated"); got != 3 {
		t.Errorf("%d workers got SIGTERM, want 3:\n%s", got, out.String())
	}
}

func TestRunManyFailureStopsTheOthers(t *testing.T) {
	t.Parallel()
	o := workerOptions(t, "wait", 3)
	o.Env = append(o.Env, "FAIL_WORKER=2")
	var notes []string
	o.Logf = func(format string, args ...any) { notes = append(notes, fmt.Sprintf(format, args...)) }
	err := Run(context.Background(), o)
	var we WorkersError
	if !errors.As(err, &we) || len(we) != 1 || we[0].Worker != "hello.world.2" || we[0].Code != 3 {
		t.Fatalf("Run = %#v, want hello.world.2 with status 3", err)
	}
	if got, want := err.Error(), "hello.world.2 exited with status 3"; got != want {
		t.Errorf("error = %q, want %q", got, want)
	}
	// Workers 1 and 3 wait for a signal, so Run returning at all means toil
	// stopped them; they are not failures (SIGTERM may even beat their
	// handler, when worker 2 fails first).
	if len(notes) != 1 || !strings.Contains(notes[0], "hello.world.2 exited with status 3; stopping 3 workers") {
		t.Errorf("notes = %q", notes)
	}
}

func TestRunManyKillsAfterGrace(t *testing.T) {
	t.Parallel()
	o := workerOptions(t, "stubborn", 2)
	out := newOutput("ready", 2)
	o.Stdout = out
	o.Grace = 50 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, o) }()
	<-out.ready
	cancel()
	err := <-done
	var we WorkersError
	if !errors.As(err, &we) || len(we) != 2 {
		t.Fatalf("Run = %v, want both workers reported", err)
	}
	for _, w := range we {
		if !w.Killed {
			t.Errorf("%s: Killed = false, want true (it ignored SIGTERM)", w.Worker)
		}
		if !strings.Contains(w.Error(), "did not stop within 50ms of SIGTERM and was killed") {
			t.Errorf("error = %q", w.Error())
		}
	}
}

func TestRunManySecondSignalKills(t *testing.T) {
	t.Parallel()
	o := workerOptions(t, "stubborn", 2)
	out := newOutput("ready", 2)
	o.Stdout = out
	o.Grace = time.Hour // only the second signal can end this run
	sigs := make(chan os.Signal, 2)
	o.Signals = sigs
	done := make(chan error, 1)
	go func() { done <- Run(context.Background(), o) }()
	<-out.ready
	sigs <- os.Interrupt
	sigs <- os.Interrupt
	err := <-done
	var we WorkersError
	if !errors.As(err, &we) || len(we) != 2 || !we[0].Killed {
		t.Fatalf("Run = %v, want both workers killed", err)
	}
}
