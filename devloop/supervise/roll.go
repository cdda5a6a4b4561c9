package supervise

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/toilhq/toil/layout"
)

// RollError is a rollout that stopped because a new worker failed: it
// exited or was not ready in time. The workers not yet replaced keep
// serving.
type RollError struct {
	Service string
	Worker  int
	PID     int // 0 when it could not be started at all
	Binary  string
	// Reason is why it failed: "exited before it was ready: exit status 3",
	// "not ready within 30s (ready_timeout)".
	Reason string
	// Lines are the failed worker's last lines of output.
	Lines []string
	// Replaced is how many workers the rollout had already replaced (they
	// run Binary), out of Procs.
	Replaced, Procs int
}

func (e *RollError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "roll %s: new worker %s", e.Service, WorkerID(e.Service, e.Worker))
	if e.PID != 0 {
		fmt.Fprintf(&b, " (pid %d)", e.PID)
	}
	fmt.Fprintf(&b, " %s; ", e.Reason)
	if e.Replaced == 0 {
		b.WriteString("the old workers keep serving")
	} else {
		fmt.Fprintf(&b, "%d of %d workers run the new binary, the others keep the old one", e.Replaced, e.Procs)
	}
	return b.String()
}

// Roll replaces the service's workers one at a time with workers running
// binary ("" for the binary they run now: a restart): it starts a
// successor, waits until it is ready, publishes it, then stops its
// predecessor (SIGTERM, SIGKILL after stop_timeout) without waiting for
// it to drain. It returns once every worker was replaced, or with a
// *RollError as soon as a successor fails, after stopping it; the
// predecessors it did not replace keep serving. Cancelling ctx (a newer
// build) stops the successor being started and returns ctx's error.
func (s *Supervisor) Roll(ctx context.Context, name, binary string) error {
	return s.serviceOp(ctx, name, func(ctx context.Context, svc *service) error {
		if binary != "" {
			if err := checkBinary(binary); err != nil {
				return fmt.Errorf("roll %s: %w", name, err)
			}
		}
		if svc.removed {
			return s.unknown(name)
		}
		return s.roll(ctx, svc, binary, false, nil)
	})
}

// serviceOp runs fn as one operation on the service called name: the
// supervisor running, the service known, ctx ended by Stop too, and the
// service's op lock held.
func (s *Supervisor) serviceOp(ctx context.Context, name string, fn func(context.Context, *service) error) error {
	done, err := s.beginOp()
	if err != nil {
		return err
	}
	defer done()
	svc := s.service(name)
	if svc == nil {
		return s.unknown(name)
	}
	ctx, cancel := s.opContext(ctx)
	defer cancel()
	svc.op.Lock()
	defer svc.op.Unlock()
	return fn(ctx, svc)
}

// RollAll rolls every service onto the binary it runs now (toil up
// reload, after new binaries were put in place), services concurrently,
// each one worker at a time.
func (s *Supervisor) RollAll(ctx context.Context) error {
	s.mu.Lock()
	names := make([]string, len(s.services))
	for i, svc := range s.services {
		names[i] = svc.name
	}
	s.mu.Unlock()
	errs := make([]error, len(names))
	done := make(chan struct{})
	for i, name := range names {
		go func() {
			defer func() { done <- struct{}{} }()
			errs[i] = s.Roll(ctx, name, "")
		}()
	}
	for range names {
		<-done
	}
	return errors.Join(errs...)
}

// roll is Roll with svc.op held. With rebind, the successors get sock (nil
// for none) instead of the service's socket: listen changed.
func (s *Supervisor) roll(ctx context.Context, svc *service, binary string, rebind bool, sock *socket) error {
	start := time.Now()
	s.mu.Lock()
	if binary == "" {
		binary = svc.binary
	}
	if !rebind {
		sock = svc.sock
	}
	slots := slices.Clone(svc.slots)
	readyTimeout := svc.spec.ReadyTimeout
	if readyTimeout <= 0 {
		readyTimeout = layout.DefaultReadyTimeout
	}
	svc.rolling = true
	s.emit(Event{Kind: EventRollStarted, Service: svc.name, Binary: binary, Restarts: len(slots)})
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		svc.rolling = false
		svc.successor = nil
		s.broadcastLocked()
		s.mu.Unlock()
	}()

	for i, sl := range slots {
		q, err := s.startProc(svc, sl, binary, sock, false)
		if err != nil {
			if errors.Is(err, ErrStopped) {
				return err
			}
			return s.rollFailed(svc, sl, nil, binary, err.Error(), i, len(slots))
		}
		s.mu.Lock()
		svc.successor = q
		s.mu.Unlock()
		reason := s.awaitReady(ctx, q, readyTimeout)
		s.mu.Lock()
		if reason == "" && q.exited {
			reason = "exited right after it was ready: " + q.reason
		}
		if reason != "" {
			s.stopProcLocked(q, s.graceLocked(q))
			s.mu.Unlock()
			if ctx.Err() != nil {
				s.emit(Event{Kind: EventRollCancelled, Service: svc.name, Worker: sl.n, PID: q.pid, Binary: binary, Reason: reason})
				return fmt.Errorf("roll %s: %w", svc.name, context.Cause(ctx))
			}
			return s.rollFailed(svc, sl, q, binary, reason, i, len(slots))
		}
		old := sl.cur
		sl.cur = q
		sl.binary = binary
		sl.crashed, sl.backoff, sl.startErr, sl.lastErr = false, 0, "", ""
		s.cancelRestartLocked(sl)
		var oldSock *socket
		if rebind && svc.sock != sock {
			oldSock, svc.sock = svc.sock, sock
		}
		svc.successor = nil
		s.broadcastLocked()
		s.mu.Unlock()
		if !q.spec.Toil() || rebind {
			// Published before the predecessor is told to stop, so no new
			// request goes to it.
			s.publish(svc)
		}
		if old != nil {
			s.mu.Lock()
			s.retireLocked(old)
			s.mu.Unlock()
		}
		// The predecessors still hold their own copies of the old socket
		// until they exit.
		oldSock.close()
	}
	s.mu.Lock()
	svc.binary = binary
	s.emit(Event{Kind: EventRollDone, Service: svc.name, Binary: binary, Delay: time.Since(start), Restarts: len(slots)})
	s.mu.Unlock()
	return nil
}

// rollFailed reports a failed successor, loudly.
func (s *Supervisor) rollFailed(svc *service, sl *slot, q *proc, binary, reason string, replaced, procs int) error {
	e := &RollError{Service: svc.name, Worker: sl.n, Binary: binary, Reason: reason, Replaced: replaced, Procs: procs}
	if q != nil {
		e.PID = q.pid
		e.Lines = q.out.tail()
	}
	s.emit(Event{Kind: EventRollFailed, Service: svc.name, Worker: sl.n, PID: e.PID, Binary: binary, Reason: e.Error(), Lines: e.Lines})
	return e
}

// checkBinary says what is wrong with a worker binary, if anything.
func checkBinary(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("binary: %w", err)
	}
	if !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0 {
		return fmt.Errorf("binary %s is not an executable file", path)
	}
	return nil
}

// Restart rolls the service onto the binary it runs now: its workers are
// replaced one at a time, each after its successor is ready.
func (s *Supervisor) Restart(ctx context.Context, service string) error {
	return s.Roll(ctx, service, "")
}

// Scale changes the service's number of workers to n (1 to
// layout.MaxProcs). New workers are started at once (Status shows them
// starting until ready); removed workers, the highest numbered, are
// stopped, and Scale waits for them to exit or ctx to end.
func (s *Supervisor) Scale(ctx context.Context, name string, n int) error {
	if n < 1 || n > layout.MaxProcs {
		return fmt.Errorf("scale %s=%d: want 1 to %d workers", name, n, layout.MaxProcs)
	}
	return s.serviceOp(ctx, name, func(ctx context.Context, svc *service) error {
		return s.scale(ctx, svc, n)
	})
}

func (s *Supervisor) scale(ctx context.Context, svc *service, n int) error {
	s.mu.Lock()
	from := len(svc.slots)
	var stopping []*proc
	if n < from {
		for _, sl := range svc.slots[n:] {
			sl.gone = true
			s.cancelRestartLocked(sl)
			if sl.cur != nil {
				stopping = append(stopping, sl.cur)
				s.retireLocked(sl.cur)
			}
		}
		svc.slots = svc.slots[:n]
	}
	s.mu.Unlock()
	if n > from {
		if err := s.startSlots(svc, n); err != nil {
			return err
		}
	}
	s.publish(svc)
	s.emit(Event{Kind: EventScaled, Service: svc.name, Reason: fmt.Sprintf("%d → %d workers", from, n), Restarts: n})
	return waitDone(ctx, stopping)
}

// waitDone waits for procs to be reaped, or ctx to end.
func waitDone(ctx context.Context, procs []*proc) error {
	for _, p := range procs {
		select {
		case <-p.done:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// Add starts a service that is not running, with its workers running
// binary: its socket is bound first.
func (s *Supervisor) Add(ctx context.Context, spec *layout.Service, binary string) error {
	done, err := s.beginOp()
	if err != nil {
		return err
	}
	defer done()
	return s.add(spec, binary)
}

// Remove stops a service's workers, waits for them to exit (or ctx to
// end), and closes its sockets. OnBackends hears it has none left.
func (s *Supervisor) Remove(ctx context.Context, service string) error {
	return s.serviceOp(ctx, service, s.remove)
}

func (s *Supervisor) remove(ctx context.Context, svc *service) error {
	s.mu.Lock()
	svc.removed = true
	s.services = slices.DeleteFunc(s.services, func(x *service) bool { return x == svc })
	var stopping []*proc
	for _, sl := range svc.slots {
		sl.gone = true
		s.cancelRestartLocked(sl)
		if sl.cur != nil {
			stopping = append(stopping, sl.cur)
			s.retireLocked(sl.cur)
		}
	}
	s.emit(Event{Kind: EventRemoved, Service: svc.name})
	s.mu.Unlock()
	s.publish(svc)
	err := waitDone(ctx, stopping)
	s.closeSockets(svc)
	return err
}

// Reload sends SIGHUP to each of the service's workers, which reload
// their configuration without restarting (the worker protocol). Only the
// worker gets it, not what it started: SIGHUP kills most programs.
func (s *Supervisor) Reload(service string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	svc := s.serviceLocked(service)
	if svc == nil {
		return fmt.Errorf("reload: no service %q", service)
	}
	var errs []error
	for _, sl := range svc.slots {
		if p := sl.cur; p != nil && !p.reaping && !p.stopping {
			if err := signalProcess(p.pid, syscall.SIGHUP); err != nil {
				errs = append(errs, fmt.Errorf("reload %s: %w", p.id(), err))
			}
		}
	}
	return errors.Join(errs...)
}

// Apply makes the running system match l, changing only what differs
// from the layout it runs (layout.Diff): it stops removed services,
// starts added ones, scales, and rolls the services whose program,
// arguments, environment or address changed, each one worker at a time.
// binaries maps services to their binaries: needed for added services and
// for rolls onto a new build; a rolled service missing from it keeps its
// binary. Settings that need no new worker (timeouts, config and watch
// lists) apply from now on. Errors are joined; what could be applied is.
func (s *Supervisor) Apply(ctx context.Context, l *layout.Layout, binaries map[string]string) error {
	done, err := s.beginOp()
	if err != nil {
		return err
	}
	defer done()
	ctx, cancel := s.opContext(ctx)
	defer cancel()

	s.mu.Lock()
	old := s.layout
	c := layout.Diff(old, l)
	s.layout = l
	s.opts.Layout = l
	s.mu.Unlock()

	var errs []error
	// A service that changes kind (run: ↔ main:) listens differently: it is
	// replaced, not rolled.
	var rekind []string
	for _, sc := range c.Changed {
		if o, n := old.Service(sc.Service), l.Service(sc.Service); o.Toil() != n.Toil() {
			rekind = append(rekind, sc.Service)
		}
	}
	prev := map[string]string{}
	for _, name := range rekind {
		if svc := s.service(name); svc != nil {
			prev[name] = svc.binary
		}
	}
	for _, name := range append(slices.Clone(c.Removed), rekind...) {
		if svc := s.service(name); svc != nil {
			svc.op.Lock()
			errs = append(errs, s.remove(ctx, svc))
			svc.op.Unlock()
		}
	}
	for _, name := range append(slices.Clone(c.Added), rekind...) {
		bin := binaries[name]
		if bin == "" {
			bin = prev[name]
		}
		if bin == "" {
			errs = append(errs, fmt.Errorf("add %s: no binary for it", name))
			continue
		}
		errs = append(errs, s.add(l.Service(name), bin))
	}
	for _, spec := range l.Services {
		if slices.Contains(c.Added, spec.Name) || slices.Contains(rekind, spec.Name) {
			continue
		}
		svc := s.service(spec.Name)
		if svc == nil {
			continue
		}
		svc.op.Lock()
		s.mu.Lock()
		svc.spec = spec
		s.mu.Unlock()
		if i := slices.IndexFunc(c.Scaled, func(sc layout.Scale) bool { return sc.Service == spec.Name }); i >= 0 {
			errs = append(errs, s.scale(ctx, svc, c.Scaled[i].To))
		}
		if i := slices.IndexFunc(c.Changed, func(sc layout.ServiceChange) bool { return sc.Service == spec.Name }); i >= 0 && c.Changed[i].Roll() {
			errs = append(errs, s.applyRoll(ctx, svc, c.Changed[i], binaries[spec.Name]))
		}
		svc.op.Unlock()
	}
	// Status lists services in the layout's order.
	s.mu.Lock()
	slices.SortStableFunc(s.services, func(a, b *service) int {
		return slices.IndexFunc(l.Services, func(x *layout.Service) bool { return x.Name == a.name }) -
			slices.IndexFunc(l.Services, func(x *layout.Service) bool { return x.Name == b.name })
	})
	s.mu.Unlock()
	return errors.Join(errs...)
}

// applyRoll rolls svc for a changed layout entry (svc.op held), binding a
// new address first when listen changed.
func (s *Supervisor) applyRoll(ctx context.Context, svc *service, sc layout.ServiceChange, binary string) error {
	if binary != "" {
		if err := checkBinary(binary); err != nil {
			return fmt.Errorf("roll %s: %w", svc.name, err)
		}
	}
	if !sc.Rebind() {
		return s.roll(ctx, svc, binary, false, nil)
	}
	s.mu.Lock()
	spec := svc.spec
	s.mu.Unlock()
	if !spec.Toil() {
		return s.rebindFront(svc, spec)
	}
	if spec.Listen.IsZero() {
		// It listens nowhere now: the successors get no socket.
		return s.roll(ctx, svc, binary, true, nil)
	}
	k, err := bind(s.layout, spec)
	if err != nil {
		return err
	}
	if k.file, err = fileOf(k.ln); err != nil {
		k.close()
		return fmt.Errorf("%s: %w", svc.name, err)
	}
	err = s.roll(ctx, svc, binary, true, k)
	s.mu.Lock()
	unused := svc.sock != k
	s.mu.Unlock()
	if unused {
		k.close()
	}
	return err
}

// rebindFront moves a main: service's forwarded address.
func (s *Supervisor) rebindFront(svc *service, spec *layout.Service) error {
	var k *socket
	if !spec.Listen.IsZero() {
		var err error
		if k, err = bind(s.layout, spec); err != nil {
			return err
		}
	}
	s.mu.Lock()
	old := svc.front
	svc.front = nil
	if k != nil {
		svc.front = s.newFrontLocked(svc, k)
	}
	s.mu.Unlock()
	if old != nil {
		old.close()
	}
	return nil
}

// add is Add within an operation already begun.
func (s *Supervisor) add(spec *layout.Service, binary string) error {
	if s.service(spec.Name) != nil {
		return fmt.Errorf("add %s: the service is already running", spec.Name)
	}
	if err := checkBinary(binary); err != nil {
		return fmt.Errorf("add %s: %w", spec.Name, err)
	}
	svc, err := s.newService(spec)
	if err != nil {
		return err
	}
	svc.binary = binary
	svc.op.Lock()
	defer svc.op.Unlock()
	s.mu.Lock()
	s.services = append(s.services, svc)
	s.emit(Event{Kind: EventAdded, Service: svc.name, Binary: binary, Restarts: spec.Procs})
	s.mu.Unlock()
	s.publish(svc)
	return s.startSlots(svc, spec.Procs)
}
