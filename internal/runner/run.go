package runner

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/toilhq/toil/internal/shim"
)

// RunOptions say how to run a built service.
type RunOptions struct {
	Binary  string
	Service string   // TOIL_SERVICE, and the start of each worker's name: hello.world.2
	Procs   int      // workers; 1 passes stdio through and the exit code back
	Args    []string // given to every worker
	Env     []string // the environment workers start from

	Stdin          io.Reader // only a single worker reads it
	Stdout, Stderr io.Writer

	// ShareTerminal keeps a single worker in toil's process group, so it can
	// read a terminal on stdin. Ctrl-C then reaches it from the terminal
	// directly, and toil does not forward SIGINT a second time.
	ShareTerminal bool

	// Prefix is the text before each line of worker n (1-based) when there
	// are several; "hello.world.2 | " when nil.
	Prefix func(n int) string

	// Grace is how long workers get between SIGTERM and SIGKILL; 10s when zero.
	Grace time.Duration

	// Signals are the signals toil received. With one worker each is
	// forwarded; with several the first stops them all (SIGTERM, Grace,
	// SIGKILL) and the second kills them at once.
	Signals <-chan os.Signal

	// Logf hears what the supervisor does to workers, for people: which one
	// failed, that the others are being stopped.
	Logf func(format string, args ...any)

	// Socket, when set, is a listening socket every worker inherits as
	// systemd socket activation passes one (LISTEN_FDS=1, LISTEN_FDNAMES=
	// SocketName), so the workers share it as they do under toil dev.
	// Workers then start through Shim, the toil executable's worker shim
	// (internal/shim), which makes LISTEN_PID their own pid.
	Socket     *os.File
	SocketName string
	Shim       string
}

// WorkerExit is a worker that ended with a non-zero status or a signal.
type WorkerExit struct {
	Worker string         // hello.world, or hello.world.2 with several workers
	Code   int            // the exit status; 128+signal when killed by one
	Signal syscall.Signal // the signal that killed it, if one did
	Killed bool           // toil killed it: it outlived the grace period
	Grace  time.Duration
}

func (e *WorkerExit) Error() string {
	switch {
	case e.Killed:
		return fmt.Sprintf("%s did not stop within %s of SIGTERM and was killed", e.Worker, e.Grace)
	case e.Signal != 0:
		return fmt.Sprintf("%s was killed by %s", e.Worker, signalName(e.Signal))
	}
	return fmt.Sprintf("%s exited with status %d", e.Worker, e.Code)
}

func signalName(s syscall.Signal) string {
	switch s {
	case syscall.SIGKILL:
		return "SIGKILL"
	case syscall.SIGTERM:
		return "SIGTERM"
	case syscall.SIGINT:
		return "SIGINT"
	case syscall.SIGSEGV:
		return "SIGSEGV"
	case syscall.SIGABRT:
		return "SIGABRT"
	}
	return "signal " + strconv.Itoa(int(s)) + " (" + s.String() + ")"
}

// WorkersError lists the workers of a multi-worker run that failed.
type WorkersError []*WorkerExit

func (e WorkersError) Error() string {
	msgs := make([]string, len(e))
	for i, w := range e {
		msgs[i] = w.Error()
	}
	return strings.Join(msgs, "; ")
}

// Run runs the service until its workers have all exited, and reaps every
// one of them before it returns. Cancelling ctx stops them as a signal would.
// With one worker a failure is a *WorkerExit; with several, a WorkersError.
func Run(ctx context.Context, o RunOptions) error {
	if o.Grace <= 0 {
		o.Grace = 10 * time.Second
	}
	if o.Logf == nil {
		o.Logf = func(string, ...any) {}
	}
	if o.Procs <= 1 {
		return runOne(ctx, o)
	}
	return runMany(ctx, o)
}

// workerEnv is the worker protocol's identity (DESIGN §4) on top of env.
func workerEnv(env []string, service string, n int) []string {
	out := make([]string, 0, len(env)+3)
	hasEnv := false
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "TOIL_SERVICE", "TOIL_WORKER",
			// toil's own, if it was socket-activated: never the worker's.
			"LISTEN_FDS", "LISTEN_FDNAMES", "LISTEN_PID":
			continue
		case "TOIL_ENV":
			hasEnv = true
		}
		out = append(out, kv)
	}
	out = append(out, "TOIL_SERVICE="+service, "TOIL_WORKER="+strconv.Itoa(n))
	if !hasEnv {
		out = append(out, "TOIL_ENV=dev")
	}
	return out
}

// waitDelay bounds how long Wait waits for a worker's output after it
// exited: a grandchild holding the pipe must not hang toil.
const waitDelay = 2 * time.Second

// command is worker n's command: the binary, or the shim before it when
// the worker inherits a socket.
func command(o RunOptions, n int) *exec.Cmd {
	env := workerEnv(o.Env, o.Service, n)
	if o.Socket == nil {
		cmd := exec.Command(o.Binary, o.Args...)
		cmd.Env = env
		return cmd
	}
	argv := shim.Command(o.Shim, o.Binary, o.Args...)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.ExtraFiles = []*os.File{o.Socket}
	cmd.Env = append(env, "LISTEN_FDS=1", "LISTEN_FDNAMES="+o.SocketName)
	return cmd
}

func runOne(ctx context.Context, o RunOptions) error {
	cmd := command(o, 1)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = o.Stdin, o.Stdout, o.Stderr
	cmd.WaitDelay = waitDelay
	cmd.SysProcAttr = procAttr(!o.ShareTerminal)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", o.Service, err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }() // received below before Run returns
	ctxDone := ctx.Done()
	for {
		select {
		case err := <-done:
			return exitOf(o.Service, cmd.ProcessState, err)
		case sig := <-o.Signals:
			if sig == os.Interrupt && o.ShareTerminal {
				continue // the terminal sent it to the worker too
			}
			_ = cmd.Process.Signal(sig)
		case <-ctxDone:
			ctxDone = nil
			_ = cmd.Process.Signal(syscall.SIGTERM)
		}
	}
}

// exitOf turns a Wait result into nil or a *WorkerExit.
func exitOf(name string, st *os.ProcessState, waitErr error) error {
	if st == nil {
		return fmt.Errorf("wait for %s: %w", name, waitErr)
	}
	if st.Success() {
		return nil
	}
	e := &WorkerExit{Worker: name, Code: st.ExitCode()}
	if ws, ok := st.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		e.Signal = ws.Signal()
		e.Code = 128 + int(e.Signal)
	}
	return e
}

// worker is one of several processes of a service.
type worker struct {
	name     string
	cmd      *exec.Cmd
	out, err *lineWriter

	mu     sync.Mutex
	reaped bool // once reaped its pid (and process group id) may be reused
	killed bool
}

// signal sends sig to the worker's process group, which also reaches
// anything it started, unless the worker is already gone.
func (w *worker) signal(sig syscall.Signal) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.reaped {
		return
	}
	if sig == syscall.SIGKILL {
		w.killed = true
	}
	_ = signalGroup(w.cmd.Process, sig)
}

type result struct {
	w   *worker
	err error
}

func runMany(ctx context.Context, o RunOptions) error {
	prefix := o.Prefix
	if prefix == nil {
		prefix = func(n int) string { return fmt.Sprintf("%s.%d | ", o.Service, n) }
	}
	var outMu sync.Mutex // one line at a time, across all workers and both streams
	results := make(chan result, o.Procs)
	var wg sync.WaitGroup
	defer wg.Wait()

	var workers []*worker
	for n := 1; n <= o.Procs; n++ {
		w := &worker{name: fmt.Sprintf("%s.%d", o.Service, n)}
		p := []byte(prefix(n))
		w.out = &lineWriter{mu: &outMu, w: o.Stdout, prefix: p}
		w.err = &lineWriter{mu: &outMu, w: o.Stderr, prefix: p}
		w.cmd = command(o, n)
		w.cmd.Stdout, w.cmd.Stderr = w.out, w.err
		w.cmd.WaitDelay = waitDelay
		// Its own process group: a terminal's Ctrl-C reaches toil only, and
		// toil stops the workers in order.
		w.cmd.SysProcAttr = procAttr(true)
		if err := w.cmd.Start(); err != nil {
			for _, started := range workers {
				started.signal(syscall.SIGKILL)
			}
			for range workers {
				<-results
			}
			return fmt.Errorf("start %s: %w", w.name, err)
		}
		workers = append(workers, w)
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := w.cmd.Wait()
			w.mu.Lock()
			w.reaped = true
			w.mu.Unlock()
			w.out.Flush()
			w.err.Flush()
			results <- result{w, err}
		}()
	}

	var (
		failures WorkersError
		stopping bool
		grace    *time.Timer
		graceC   <-chan time.Time
		ctxDone  = ctx.Done()
	)
	defer func() {
		if grace != nil {
			grace.Stop()
		}
	}()
	stopAll := func(why string) {
		stopping = true
		o.Logf("%s; stopping %d workers (SIGTERM, then SIGKILL after %s)", why, len(workers), o.Grace)
		for _, w := range workers {
			w.signal(syscall.SIGTERM)
		}
		grace = time.NewTimer(o.Grace)
		graceC = grace.C
	}
	killAll := func() {
		for _, w := range workers {
			w.signal(syscall.SIGKILL)
		}
	}
	for running := len(workers); running > 0; {
		select {
		case r := <-results:
			running--
			err := exitOf(r.w.name, r.w.cmd.ProcessState, r.err)
			if err == nil {
				continue
			}
			we, ok := err.(*WorkerExit)
			if !ok {
				failures = append(failures, &WorkerExit{Worker: r.w.name, Code: 1})
				o.Logf("%v", err)
				continue
			}
			r.w.mu.Lock()
			we.Killed, we.Grace = r.w.killed && we.Signal == syscall.SIGKILL, o.Grace
			r.w.mu.Unlock()
			if stopping && we.Signal == syscall.SIGTERM {
				continue // no handler for SIGTERM: it stopped as asked
			}
			failures = append(failures, we)
			if !stopping {
				stopAll(we.Error())
			}
		case sig := <-o.Signals:
			if stopping {
				o.Logf("second %s: killing the workers now", sig)
				killAll()
				continue
			}
			stopAll("got " + sig.String())
		case <-ctxDone:
			ctxDone = nil
			if !stopping {
				stopAll("stopping")
			}
		case <-graceC:
			graceC = nil
			killAll()
		}
	}
	if len(failures) > 0 {
		return failures
	}
	return nil
}
