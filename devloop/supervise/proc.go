package supervise

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/toilhq/toil/layout"
)

// proc is one worker process.
type proc struct {
	svc    *service
	spec   *layout.Service // the service as it was when p started
	slot   *slot
	gen    int // unique per supervisor: names the notify socket
	binary string
	cmd    *exec.Cmd
	pid    int
	start  time.Time
	port   int    // PORT, for a main: service
	admin  string // TOIL_ADMIN_ADDR
	notify *net.UnixConn
	out    *output

	// The rest is guarded by the supervisor's mu.
	readyAt   time.Time
	readyCh   chan struct{} // closed when ready
	reloading bool
	draining  bool // it sent STOPPING=1
	retired   bool // unpublished, to be stopped after unpublishDelay
	stopping  bool // the supervisor sent SIGTERM
	stopAt    time.Time
	killed    bool // the supervisor sent SIGKILL
	reaping   bool // it exited and is being reaped: its pid may be reused soon
	exited    bool
	done      chan struct{} // closed once reaped
	reason    string        // how it ended
}

// serving reports whether requests may go to p.
func (p *proc) serving() bool {
	return !p.readyAt.IsZero() && !p.retired && !p.stopping && !p.draining && !p.exited
}

func (p *proc) portAddr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(p.port)) }

func (p *proc) id() string { return WorkerID(p.svc.name, p.slot.n) }

// reserved are the worker protocol's variables, the supervisor's to set.
var reserved = []string{"LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES", "NOTIFY_SOCKET",
	"TOIL_SERVICE", "TOIL_WORKER", "TOIL_ENV", "TOIL_ADMIN_ADDR", "PORT"}

func isReserved(kv string) bool {
	k, _, _ := strings.Cut(kv, "=")
	for _, r := range reserved {
		if k == r {
			return true
		}
	}
	return false
}

// environLocked is p's environment: toil's own, the backing systems', the
// layout's, then the worker protocol's.
func (s *Supervisor) environLocked(p *proc, sock *socket, notify string) []string {
	var env []string
	for _, kv := range s.opts.Environ {
		if !isReserved(kv) {
			env = append(env, kv)
		}
	}
	for _, kv := range s.layout.Environ(p.spec, s.opts.Backing) {
		if !isReserved(kv) {
			env = append(env, kv)
		}
	}
	env = append(env,
		"TOIL_SERVICE="+p.svc.name,
		"TOIL_WORKER="+strconv.Itoa(p.slot.n),
		"TOIL_ENV="+s.opts.Env,
		"TOIL_ADMIN_ADDR="+p.admin,
		"NOTIFY_SOCKET="+notify,
	)
	if p.port != 0 {
		env = append(env, "PORT="+strconv.Itoa(p.port))
	}
	if sock != nil {
		// LISTEN_PID is the shim's to set: only the worker knows its pid.
		env = append(env, "LISTEN_FDS=1", "LISTEN_FDNAMES="+p.svc.name)
	}
	return env
}

// freePortLocked picks a free loopback port no live worker was given.
func (s *Supervisor) freePortLocked() (int, error) {
	for range 20 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, fmt.Errorf("find a free port: %w", err)
		}
		port := ln.Addr().(*net.TCPAddr).Port
		ln.Close()
		if !s.ports[port] {
			s.ports[port] = true
			return port, nil
		}
	}
	return 0, errors.New("find a free port: the kernel keeps handing out ports already given to workers")
}

// startProc starts a worker for slot sl running binary, inheriting sock.
// With forSlot, it becomes the slot's worker if the slot is empty, and is
// stopped otherwise (a rollout filled it meanwhile); else it is a
// successor, which a rollout puts in the slot once it is ready.
func (s *Supervisor) startProc(svc *service, sl *slot, binary string, sock *socket, forSlot bool) (*proc, error) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, ErrStopped
	}
	s.gen++
	p := &proc{svc: svc, spec: svc.spec, slot: sl, gen: s.gen, binary: binary, readyCh: make(chan struct{}), done: make(chan struct{})}
	var err error
	var ports []int
	if !p.spec.Toil() {
		p.port, err = s.freePortLocked()
		ports = append(ports, p.port)
	}
	adminPort := 0
	if err == nil {
		adminPort, err = s.freePortLocked()
		ports = append(ports, adminPort)
		p.admin = net.JoinHostPort("127.0.0.1", strconv.Itoa(adminPort))
	}
	release := func() {
		for _, port := range ports {
			delete(s.ports, port)
		}
	}
	if err != nil {
		release()
		s.mu.Unlock()
		return nil, fmt.Errorf("start %s: %w", p.id(), err)
	}
	notifyPath := filepath.Join(s.tmp, strconv.Itoa(p.gen)+".sock")
	env := s.environLocked(p, sock, notifyPath)
	dir := s.layout.Dir
	args := p.spec.Args
	s.starting++
	s.mu.Unlock()

	fail := func(err error) (*proc, error) {
		s.mu.Lock()
		release()
		s.starting--
		s.broadcastLocked()
		s.mu.Unlock()
		return nil, fmt.Errorf("start %s: %w", p.id(), err)
	}
	p.notify, err = net.ListenUnixgram("unixgram", &net.UnixAddr{Name: notifyPath, Net: "unixgram"})
	if err != nil {
		return fail(fmt.Errorf("notify socket: %w", err))
	}
	argv := append([]string{binary}, args...)
	if sock != nil {
		argv = append(append([]string(nil), s.shim...), argv...)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = env
	cmd.Dir = dir
	if sock != nil {
		cmd.ExtraFiles = []*os.File{sock.file}
	}
	p.out = newOutput(s.opts.Log, svc.name, sl.n)
	cmd.Stdout, cmd.Stderr = p.out.writer(false), p.out.writer(true)
	cmd.SysProcAttr = procAttr(!s.opts.noPdeathsig)
	// A grandchild that left the worker's process group and holds its
	// output open must not keep the worker from being reaped.
	cmd.WaitDelay = 2 * time.Second
	p.cmd = cmd
	if err := s.spawn.start(cmd); err != nil {
		p.notify.Close()
		os.Remove(notifyPath)
		return fail(err)
	}
	p.pid = cmd.Process.Pid
	p.start = time.Now()
	p.out.setPID(p.pid)

	s.mu.Lock()
	defer s.mu.Unlock()
	s.starting--
	s.procs[p] = true
	if s.state != nil {
		s.state.add(p)
	}
	s.emit(Event{Kind: EventStarted, Service: svc.name, Worker: sl.n, PID: p.pid, Binary: binary, Restarts: sl.restarts})
	if forSlot {
		if sl.cur == nil && !sl.gone && !svc.removed {
			sl.cur = p
			sl.startErr = ""
		} else {
			s.stopProcLocked(p, s.graceLocked(p))
		}
	}
	if s.closed {
		s.stopProcLocked(p, s.graceLocked(p))
	}
	s.broadcastLocked()
	s.wg.Go(func() { s.reap(p) })
	s.wg.Go(func() { s.readNotify(p) })
	s.wg.Go(func() { s.probe(p) })
	return p, nil
}

// reap waits for p to exit, kills what it left in its process group
// (where the platform lets us wait without reaping), and reaps it.
func (s *Supervisor) reap(p *proc) {
	// Until p is reaped its pid, and so its process group id, cannot be
	// reused: the group can be killed safely now, and only now.
	zombie := waitExited(p.pid)
	s.mu.Lock()
	if zombie {
		_ = signalGroup(p.pid, syscall.SIGKILL)
	}
	p.reaping = true
	s.mu.Unlock()
	err := p.cmd.Wait()
	p.out.flush()
	p.notify.Close()
	os.Remove(p.notify.LocalAddr().String())
	s.onExit(p, err)
}

// onExit records that p ended and, if it was not asked to, restarts its
// slot after a backoff.
func (s *Supervisor) onExit(p *proc, waitErr error) {
	now := time.Now()
	s.mu.Lock()
	p.exited = true
	delete(s.procs, p)
	delete(s.ports, p.port)
	if _, port, err := net.SplitHostPort(p.admin); err == nil {
		n, _ := strconv.Atoi(port)
		delete(s.ports, n)
	}
	if s.state != nil {
		s.state.remove(p)
	}
	p.reason = exitReason(p.cmd.ProcessState, waitErr, p.killed)
	close(p.done)
	svc, sl := p.svc, p.slot
	s.emit(Event{Kind: EventExited, Service: svc.name, Worker: sl.n, PID: p.pid, Binary: p.binary, Reason: p.reason, Expected: p.stopping, Delay: now.Sub(p.start)})
	republish := false
	if sl.cur == p {
		sl.cur = nil
		republish = !p.spec.Toil()
		if !p.stopping && !sl.gone && !svc.removed && !s.closed {
			delay := s.nextBackoff(sl, now.Sub(p.start))
			sl.crashed = true
			sl.backoff = delay
			sl.restarts++
			sl.lastErr = p.reason
			sl.since = now
			s.emit(Event{Kind: EventCrashed, Service: svc.name, Worker: sl.n, PID: p.pid, Binary: p.binary,
				Reason: p.reason, Lines: p.out.tail(), Delay: delay, Restarts: sl.restarts})
			s.scheduleRestartLocked(svc, sl, delay)
		}
	}
	s.broadcastLocked()
	s.mu.Unlock()
	if republish {
		s.publish(svc)
	}
}

// exitReason says how a worker ended, for people.
func exitReason(st *os.ProcessState, waitErr error, killed bool) string {
	if st == nil {
		return fmt.Sprintf("lost: %v", waitErr)
	}
	if ws, ok := st.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		if killed && ws.Signal() == syscall.SIGKILL {
			return "killed (SIGKILL) after its stop timeout"
		}
		return "killed by " + signalName(ws.Signal())
	}
	return "exit status " + strconv.Itoa(st.ExitCode())
}

func signalName(sig syscall.Signal) string {
	switch sig {
	case syscall.SIGKILL:
		return "SIGKILL"
	case syscall.SIGTERM:
		return "SIGTERM"
	case syscall.SIGINT:
		return "SIGINT"
	case syscall.SIGHUP:
		return "SIGHUP"
	case syscall.SIGSEGV:
		return "SIGSEGV"
	case syscall.SIGABRT:
		return "SIGABRT"
	}
	return sig.String()
}

// scheduleRestartLocked restarts sl after delay, unless a rollout fills the
// slot, the slot goes away or the supervisor stops first.
func (s *Supervisor) scheduleRestartLocked(svc *service, sl *slot, delay time.Duration) {
	ch := make(chan struct{})
	sl.restart = ch
	s.restarts++
	s.wg.Go(func() {
		t := time.NewTimer(delay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ch:
		case <-s.ctx.Done():
		}
		s.mu.Lock()
		if sl.restart != ch {
			s.mu.Unlock()
			return // cancelled: whoever cancelled it counted it off
		}
		sl.restart = nil
		s.restarts--
		ok := sl.cur == nil && !sl.gone && !svc.removed && !s.closed
		binary, sock := sl.binary, svc.sock
		if ok {
			// Counted as starting before restarts drops, so Stop never
			// sees neither.
			s.starting++
		}
		s.broadcastLocked()
		s.mu.Unlock()
		if !ok {
			return
		}
		_, err := s.startProc(svc, sl, binary, sock, true)
		s.mu.Lock()
		s.starting--
		s.broadcastLocked()
		s.mu.Unlock()
		if err != nil && !errors.Is(err, ErrStopped) {
			s.startFailed(svc, sl, err)
		}
	})
}

// cancelRestartLocked drops sl's pending restart, if any.
func (s *Supervisor) cancelRestartLocked(sl *slot) {
	if sl.restart != nil {
		close(sl.restart)
		sl.restart = nil
		s.restarts--
		s.broadcastLocked()
	}
}

// stopProcLocked sends p's process group SIGTERM, and SIGKILL after grace
// (at once if Stop's context ended).
func (s *Supervisor) stopProcLocked(p *proc, grace time.Duration) {
	if p.exited || p.stopping {
		return
	}
	p.stopping = true
	p.stopAt = time.Now()
	if !p.reaping {
		_ = signalGroup(p.pid, syscall.SIGTERM)
	}
	s.broadcastLocked()
	s.wg.Go(func() {
		t := time.NewTimer(grace)
		defer t.Stop()
		select {
		case <-p.done:
			return
		case <-t.C:
		case <-s.killNow:
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if !p.reaping {
			p.killed = true
			_ = signalGroup(p.pid, syscall.SIGKILL)
		}
	})
}

// unpublishDelay is how long a main: worker taken out of the published
// backends keeps running before it is told to stop. Each such worker has a
// listening socket of its own, and closing it resets the connections in
// its queue: a proxy (or the forwarder) that picked the worker just before
// the new set was published must get its connection accepted first.
// Workers sharing a run: service's socket need no delay: its queue stays.
const unpublishDelay = 100 * time.Millisecond

// retireLocked stops p, which no longer serves (it was unpublished, or
// never published): a main: worker that served after unpublishDelay, the
// others at once.
func (s *Supervisor) retireLocked(p *proc) {
	if p.spec.Toil() || p.readyAt.IsZero() {
		s.stopProcLocked(p, s.graceLocked(p))
		return
	}
	p.retired = true
	s.broadcastLocked()
	s.wg.Go(func() {
		t := time.NewTimer(unpublishDelay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-p.done:
		case <-s.ctx.Done():
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		s.stopProcLocked(p, s.graceLocked(p))
	})
}

// readNotify reads p's sd_notify messages until its socket is closed.
func (s *Supervisor) readNotify(p *proc) {
	buf := make([]byte, 4096)
	for {
		n, err := p.notify.Read(buf)
		if err != nil {
			return
		}
		for _, line := range strings.Split(string(buf[:n]), "\n") {
			switch line {
			case "READY=1":
				s.markReady(p, "READY=1")
			case "RELOADING=1":
				s.mu.Lock()
				p.reloading = true
				s.emit(Event{Kind: EventReloading, Service: p.svc.name, Worker: p.slot.n, PID: p.pid, Binary: p.binary})
				s.mu.Unlock()
			case "STOPPING=1":
				s.mu.Lock()
				p.draining = true
				s.emit(Event{Kind: EventStopping, Service: p.svc.name, Worker: p.slot.n, PID: p.pid, Binary: p.binary, Expected: p.stopping})
				s.broadcastLocked()
				s.mu.Unlock()
				if !p.spec.Toil() {
					s.publish(p.svc)
				}
			}
		}
	}
}

// markReady records that p is ready, how says how we know.
func (s *Supervisor) markReady(p *proc, how string) {
	s.mu.Lock()
	if !p.readyAt.IsZero() || p.exited {
		if p.reloading && how == "READY=1" {
			p.reloading = false
			s.emit(Event{Kind: EventReloaded, Service: p.svc.name, Worker: p.slot.n, PID: p.pid, Binary: p.binary})
		}
		s.mu.Unlock()
		return
	}
	p.readyAt = time.Now()
	close(p.readyCh)
	s.emit(Event{Kind: EventReady, Service: p.svc.name, Worker: p.slot.n, PID: p.pid, Binary: p.binary, Reason: how, Delay: p.readyAt.Sub(p.start)})
	publish := !p.spec.Toil() && p.slot.cur == p
	s.broadcastLocked()
	s.mu.Unlock()
	if publish {
		s.publish(p.svc)
	}
}

// probeClient asks toil workers' admin endpoints for /readyz.
var probeClient = &http.Client{
	Timeout:   time.Second,
	Transport: &http.Transport{DisableKeepAlives: true, Proxy: nil},
}

// probe finds out that p is ready when it does not say so itself: a main:
// service once its PORT accepts a connection (or, when it listens nowhere,
// once it stayed up for NoProtocolSettle), a toil service once /readyz on
// its admin address answers 200.
func (s *Supervisor) probe(p *proc) {
	spec := p.spec
	var (
		check    func() bool
		interval = 5 * time.Millisecond // doubles up to maxEvery
		maxEvery = 100 * time.Millisecond
		settle   <-chan time.Time
	)
	if spec.Toil() {
		// Toil workers send READY=1; this is the fallback, so it starts
		// late and asks rarely.
		interval, maxEvery = 250*time.Millisecond, 250*time.Millisecond
		url := "http://" + p.admin + "/readyz"
		check = func() bool {
			resp, err := probeClient.Get(url)
			if err != nil {
				return false
			}
			resp.Body.Close()
			return resp.StatusCode == http.StatusOK
		}
	} else {
		addr := p.portAddr()
		check = func() bool {
			c, err := net.DialTimeout("tcp", addr, time.Second)
			if err != nil {
				return false
			}
			c.Close()
			return true
		}
		if spec.Listen.IsZero() {
			t := time.NewTimer(min(NoProtocolSettle, spec.ReadyTimeout))
			defer t.Stop()
			settle = t.C
		}
	}
	t := time.NewTimer(interval)
	defer t.Stop()
	for {
		select {
		case <-p.readyCh:
			return
		case <-p.done:
			return
		case <-s.ctx.Done():
			return
		case <-settle:
			s.markReady(p, fmt.Sprintf("up for %s (it has no readiness signal)", min(NoProtocolSettle, spec.ReadyTimeout)))
			return
		case <-t.C:
		}
		if check() {
			how := "/readyz answered 200"
			if !spec.Toil() {
				how = "PORT " + strconv.Itoa(p.port) + " accepts connections"
			}
			s.markReady(p, how)
			return
		}
		interval = min(2*interval, maxEvery)
		t.Reset(interval)
	}
}

// awaitReady waits until p is ready, and returns "" then; else why it is
// not: it exited, it is not ready within timeout, or ctx ended.
func (s *Supervisor) awaitReady(ctx context.Context, p *proc, timeout time.Duration) string {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-p.readyCh:
		return ""
	case <-p.done:
		// It may have become ready and exited at once: both are closed.
		select {
		case <-p.readyCh:
			return "exited right after it was ready: " + p.reason
		default:
		}
		return "exited before it was ready: " + p.reason
	case <-t.C:
		return fmt.Sprintf("not ready within %s (ready_timeout)", timeout)
	case <-ctx.Done():
		return "rollout cancelled: " + context.Cause(ctx).Error()
	}
}
