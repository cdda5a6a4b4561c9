package backing

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/toilhq/toil/layout"
)

// tailLines is how many of a command's last lines of output an error
// about it shows.
const tailLines = 10

// command is a backing system run as a process of its own.
type command struct {
	name        string
	line        string
	cmd         *exec.Cmd
	stopTimeout time.Duration
	started     time.Time

	done    chan struct{} // closed once the process is reaped
	readers sync.WaitGroup

	mu      sync.Mutex
	reason  string // how it ended, once done
	stopped bool   // stop ran: its group is gone
	tail    []string
}

// startCommand starts b's command on port (0: a free one) and waits until
// its readiness probe passes.
func (s *Set) startCommand(ctx context.Context, b *layout.Backing, dir string, port int) (*command, int, error) {
	if port == 0 {
		p, err := freePort()
		if err != nil {
			return nil, 0, fmt.Errorf("backing %s: %w", b.Name, err)
		}
		port = p
	}
	words := b.Command(port)
	c := &command{
		name:        b.Name,
		line:        commandLine(words),
		stopTimeout: b.StopTimeout,
		done:        make(chan struct{}),
	}
	if c.stopTimeout == 0 {
		c.stopTimeout = layout.DefaultStopTimeout
	}
	s.event(Event{Kind: EventStarting, Backing: b.Name, Reason: c.line})
	if err := c.start(words, dir, s.opts); err != nil {
		return nil, 0, fmt.Errorf("backing %s: start %s: %w", b.Name, c.line, err)
	}
	if err := c.waitReady(ctx, b, port, s.opts.Environ); err != nil {
		stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.stopTimeout)
		defer cancel()
		_ = c.stop(stopCtx)
		msg := fmt.Sprintf("backing %s: %s: %v", b.Name, c.line, err)
		if tail := c.lastLines(); len(tail) > 0 {
			msg += "; its last output:\n  " + strings.Join(tail, "\n  ")
		}
		return nil, 0, errors.New(msg)
	}
	return c, port, nil
}

func (c *command) start(words []string, dir string, opts Options) error {
	cmd := exec.Command(words[0], words[1:]...)
	cmd.Dir = dir
	cmd.Env = opts.Environ
	cmd.SysProcAttr = procAttr()
	outR, outW, err := os.Pipe()
	if err != nil {
		return err
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		outR.Close()
		outW.Close()
		return err
	}
	cmd.Stdout, cmd.Stderr = outW, errW
	err = cmd.Start()
	// The child has its copies; the readers see EOF once it (and anything
	// it started) closes them.
	outW.Close()
	errW.Close()
	if err != nil {
		outR.Close()
		errR.Close()
		return err
	}
	c.cmd = cmd
	c.started = time.Now()
	c.readers.Add(2)
	go c.read(outR, false, opts.Log)
	go c.read(errR, true, opts.Log)
	go func() {
		err := cmd.Wait()
		c.mu.Lock()
		c.reason = exitReason(err)
		c.mu.Unlock()
		close(c.done)
	}()
	return nil
}

// read passes r's lines to log and keeps the last ones.
// keep restarts sys's command on its port whenever it exits, as systemd's
// Restart= or Kubernetes would restart the server: after a backoff that
// doubles from layout.BackoffMin to layout.BackoffMax, like a crashed
// worker's, and starts again from BackoffMin once the command stayed up
// for layout.BackoffReset. It also serves Set.Restart. It returns when ctx
// ends (stopOne), leaving sys.srv for stopOne to stop.
func (s *Set) keep(ctx context.Context, sys *system, dir string) {
	defer close(sys.kept)
	name := sys.spec.Name
	var backoff time.Duration
	// next is the delay before the next try after a command that was up
	// for uptime.
	next := func(uptime time.Duration) time.Duration {
		if backoff == 0 || uptime >= layout.BackoffReset {
			return layout.BackoffMin
		}
		return min(2*backoff, layout.BackoffMax)
	}
	for {
		sys.mu.Lock()
		c := sys.srv.(*command)
		sys.mu.Unlock()
		var reply chan error
		select {
		case <-ctx.Done():
			return
		case reply = <-sys.restart:
			_ = c.stop(ctx)
			sys.set(StateRestarting, "")
		case <-c.done:
			reason := c.exited()
			// Whatever it left in its group goes, and its output is read.
			_ = c.stop(ctx)
			backoff = next(time.Since(c.started))
			sys.mu.Lock()
			sys.state, sys.exited = StateRestarting, reason
			n := sys.restarts
			sys.mu.Unlock()
			s.event(Event{Kind: EventExited, Backing: name, Reason: reason, Delay: backoff, Restarts: n})
			if reply = waitRestart(ctx, sys, backoff); ctx.Err() != nil {
				return
			}
		}
		for {
			start := time.Now()
			nc, _, err := s.startCommand(ctx, sys.spec, dir, sys.port)
			if err == nil {
				sys.mu.Lock()
				sys.srv, sys.state, sys.lastErr = nc, StateRunning, ""
				sys.restarts++
				n := sys.restarts
				sys.mu.Unlock()
				s.event(Event{Kind: EventRestarted, Backing: name, Reason: "on " + addr(sys.port), PID: nc.pid(), Delay: time.Since(start), Restarts: n})
				if reply != nil {
					reply <- nil
				}
				break
			}
			if ctx.Err() != nil {
				if reply != nil {
					reply <- ctx.Err()
				}
				return
			}
			backoff = next(0)
			sys.set(StateFailed, err.Error())
			s.event(Event{Kind: EventRestartFailed, Backing: name, Reason: err.Error(), Delay: backoff})
			if reply != nil {
				reply <- err
			}
			if reply = waitRestart(ctx, sys, backoff); ctx.Err() != nil {
				return
			}
		}
	}
}

// waitRestart waits d, or less if Set.Restart asks for the restart now
// (its reply channel is returned), or until ctx ends.
func waitRestart(ctx context.Context, sys *system, d time.Duration) chan error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case reply := <-sys.restart:
		return reply
	case <-ctx.Done():
		return nil
	}
}

// set records sys's state, and why its last restart failed.
func (sys *system) set(state State, lastErr string) {
	sys.mu.Lock()
	defer sys.mu.Unlock()
	sys.state, sys.lastErr = state, lastErr
}

func (c *command) read(r io.ReadCloser, stderr bool, log func(Line)) {
	defer c.readers.Done()
	defer r.Close()
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	for sc.Scan() {
		text := string(bytes.TrimRight(sc.Bytes(), "\r"))
		c.mu.Lock()
		c.tail = append(c.tail, text)
		if len(c.tail) > tailLines {
			c.tail = c.tail[len(c.tail)-tailLines:]
		}
		c.mu.Unlock()
		if log != nil {
			log(Line{Backing: c.name, Stderr: stderr, Text: text})
		}
	}
}

func (c *command) lastLines() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.tail...)
}

func (c *command) pid() int { return c.cmd.Process.Pid }

func (c *command) exited() string {
	select {
	case <-c.done:
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.reason
	default:
		return ""
	}
}

// stop sends SIGTERM to the command's process group, SIGKILL after its
// stop timeout or when ctx ends, and waits for it and its output.
func (c *command) stop(ctx context.Context) error {
	c.mu.Lock()
	again := c.stopped
	c.stopped = true
	c.mu.Unlock()
	if again {
		// Its group is gone, and its pid may be another process's by now.
		<-c.done
		c.readers.Wait()
		return nil
	}
	pgid := c.cmd.Process.Pid
	select {
	case <-c.done:
	default:
		_ = syscall.Kill(-pgid, syscall.SIGTERM)
		t := time.NewTimer(c.stopTimeout)
		defer t.Stop()
		select {
		case <-c.done:
		case <-t.C:
		case <-ctx.Done():
		}
	}
	// Whatever the command left in its group goes too.
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
	<-c.done
	c.readers.Wait()
	return nil
}

// waitReady polls b's readiness probe until it passes, the command exits,
// ctx ends or the probe's timeout passes.
func (c *command) waitReady(ctx context.Context, b *layout.Backing, port int, environ []string) error {
	timeout := b.Ready.Timeout
	if timeout == 0 {
		timeout = layout.DefaultReadyTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	probe, what := prober(b, port, environ)
	tick := time.NewTicker(waitTick)
	defer tick.Stop()
	var last error
	for {
		if last = probe(ctx); last == nil {
			return nil
		}
		select {
		case <-c.done:
			return fmt.Errorf("exited before it was ready (%s)", c.exited())
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return fmt.Errorf("not ready within %s: %s: %v (set backing.%s.ready in %s)", timeout, what, last, b.Name, fileLine(b))
			}
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// prober returns b's readiness check and what it checks, for messages.
func prober(b *layout.Backing, port int, environ []string) (func(context.Context) error, string) {
	a := addr(port)
	switch {
	case b.Ready.HTTP != "":
		url := b.Ready.URL(port)
		client := &http.Client{Timeout: time.Second}
		return func(ctx context.Context) error {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
			if err != nil {
				return err
			}
			resp, err := client.Do(req)
			if err != nil {
				return err
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode/100 != 2 {
				return fmt.Errorf("%s answered %s", url, resp.Status)
			}
			return nil
		}, "GET " + url
	case b.Ready.Cmd != "":
		words := b.Ready.Command(port)
		return func(ctx context.Context) error {
			ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, words[0], words[1:]...)
			cmd.Env = environ
			cmd.SysProcAttr = procAttr()
			out, err := cmd.CombinedOutput()
			if err != nil {
				return fmt.Errorf("%v: %s", err, strings.TrimSpace(string(out)))
			}
			return nil
		}, commandLine(words)
	case fallbackKind(b) == "redis":
		// Redis accepts connections while it loads its data and answers
		// LOADING meanwhile: PING says it serves.
		return func(ctx context.Context) error { return ping(ctx, a) }, "PING to " + a
	default:
		return func(ctx context.Context) error {
			d := net.Dialer{Timeout: time.Second}
			conn, err := d.DialContext(ctx, "tcp", a)
			if err != nil {
				return err
			}
			return conn.Close()
		}, "connect to " + a
	}
}

// ping sends a Redis PING and wants +PONG.
func ping(ctx context.Context, a string) error {
	d := net.Dialer{Timeout: time.Second}
	conn, err := d.DialContext(ctx, "tcp", a)
	if err != nil {
		return err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(time.Second))
	if _, err := conn.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return err
	}
	if line = strings.TrimSpace(line); line != "+PONG" {
		return fmt.Errorf("PING answered %q", line)
	}
	return nil
}

// commandLine is words as a person would type them: empty and spaced
// words quoted.
func commandLine(words []string) string {
	q := make([]string, len(words))
	for i, w := range words {
		if w == "" || strings.ContainsAny(w, " \t'\"") {
			w = "'" + strings.ReplaceAll(w, "'", `'\''`) + "'"
		}
		q[i] = w
	}
	return strings.Join(q, " ")
}

// exitReason says how a process ended: "exit status 1", "killed by SIGKILL".
func exitReason(err error) string {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return "killed by " + signalName(ws.Signal())
		}
		return ee.Error()
	}
	if err != nil {
		return err.Error()
	}
	return "exit status 0"
}

func signalName(sig syscall.Signal) string {
	switch sig {
	case syscall.SIGKILL:
		return "SIGKILL"
	case syscall.SIGTERM:
		return "SIGTERM"
	case syscall.SIGINT:
		return "SIGINT"
	case syscall.SIGSEGV:
		return "SIGSEGV"
	}
	return sig.String()
}
