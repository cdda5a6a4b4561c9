package backing

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/toilhq/toil/layout"
)

// Options configure a Set.
type Options struct {
	// Dir is where backing systems keep their files, each in Dir/<name>:
	// the NATS JetStream store, a command's working directory. toil dev
	// uses .toil/dev/backing. Required.
	Dir string
	// Environ is the environment commands start from; nil means toil's own.
	Environ []string
	// Log receives every line a command writes, whole, without its newline.
	// It is called from many goroutines at once.
	Log func(Line)
	// OnEvent receives what the set does, in order for each system.
	OnEvent func(Event)
}

// Line is one line of a backing command's output.
type Line struct {
	Backing string
	Stderr  bool
	Text    string
}

// Kind is what an Event is about.
type Kind string

// The kinds of events.
const (
	// EventStarting: a system is starting (Reason says what runs: the
	// command line, or "embedded nats").
	EventStarting Kind = "starting"
	// EventReady: a system is ready; Delay is how long it took.
	EventReady Kind = "ready"
	// EventWarning: something a person should know (Reason), such as a
	// command missing and the embedded server running instead.
	EventWarning Kind = "warning"
	// EventExited: a command ended while toil still needed it (Reason says
	// how); it is restarted on the same port after Delay, and the services
	// that use it see errors meanwhile.
	EventExited Kind = "exited"
	// EventRestarted: a command that exited, or that Set.Restart
	// restarted, is ready again on its port (Restarts counts its
	// restarts).
	EventRestarted Kind = "restarted"
	// EventRestartFailed: a restart did not get ready (Reason says why);
	// it is tried again after Delay.
	EventRestartFailed Kind = "restart failed"
	// EventStopped: a system was stopped.
	EventStopped Kind = "stopped"
)

// Event is something the set did or saw.
type Event struct {
	Time    time.Time
	Kind    Kind
	Backing string
	Reason  string
	// PID is the command's process (EventReady, EventRestarted), else 0.
	PID int
	// Delay is how long the start took (EventReady, EventRestarted), or
	// the wait before the next restart (EventExited, EventRestartFailed).
	Delay time.Duration
	// Restarts is how many times the command was restarted.
	Restarts int
}

// String is the event for people: "redis ready on 127.0.0.1:41234 in 12ms".
func (e Event) String() string {
	s := e.Backing + " " + string(e.Kind)
	if e.Reason != "" {
		s += ": " + e.Reason
	}
	if e.Delay > 0 {
		s += fmt.Sprintf(" (%s)", e.Delay.Round(time.Millisecond))
	}
	return s
}

// State is how a backing system is doing.
type State string

// The states of a backing system.
const (
	// StateRunning: it runs (and was ready when it last started).
	StateRunning State = "running"
	// StateRestarting: its command exited; it is restarted on the same
	// port after a backoff.
	StateRestarting State = "restarting"
	// StateFailed: its command exited and its last restart did not get
	// ready (Status.Error says why); it is tried again after a backoff.
	StateFailed State = "failed"
)

// Status is one running backing system.
type Status struct {
	Name string
	// Kind is the layout's kind: nats, redis, ..., or "" for a command
	// toil knows nothing about.
	Kind string
	// Runs says what runs: "embedded nats", "embedded redis (fallback: redis-server
	// is not installed)", or the command line.
	Runs string
	// PID is the command's process, 0 for an embedded server.
	PID int
	// Addr is "127.0.0.1:port".
	Addr string
	// Env are the variables it gives the services.
	Env layout.Env
	// State is running, restarting or failed; embedded servers, inside
	// toil's process, are always running.
	State State
	// Restarts is how many times its command was restarted.
	Restarts int
	// Exited is how its command last ended while toil ran, "" if it never
	// did.
	Exited string
	// Error is why its last restart failed, while State is failed.
	Error string
}

// Set is the running backing systems of a layout. Create it with Start;
// end it with Stop.
type Set struct {
	opts Options

	mu      sync.Mutex
	systems []*system // in start order
	stopped bool
}

// system is one backing system running.
type system struct {
	spec *layout.Backing
	port int
	runs string
	env  layout.Env

	// A command has a keeper goroutine (see keep), which restarts it when
	// it exits; cancel ends the keeper, kept is closed once it returned,
	// and restart takes Set.Restart's requests. All three are nil for an
	// embedded server.
	cancel  context.CancelFunc
	kept    chan struct{}
	restart chan chan error

	mu sync.Mutex
	// srv is what runs it: an embedded server or a command. The keeper
	// replaces it on a restart.
	srv      server
	state    State
	restarts int
	exited   string
	lastErr  string
}

// server is a running embedded server or command.
type server interface {
	// pid is the command's process id, 0 for an embedded server.
	pid() int
	// stop stops it, SIGKILL once ctx is done, and waits for it.
	stop(ctx context.Context) error
}

// Start starts the layout's backing systems one after the other in the
// order of the file, each once the one before is ready. On error the
// systems already started are stopped again, so nothing is left running.
func Start(ctx context.Context, l *layout.Layout, opts Options) (*Set, error) {
	if opts.Dir == "" {
		return nil, errors.New("backing: Options.Dir is required")
	}
	s := &Set{opts: opts}
	for _, b := range l.Backing {
		sys, err := s.start(ctx, b)
		if err != nil {
			stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
			defer cancel()
			_ = s.Stop(stopCtx)
			return nil, err
		}
		s.systems = append(s.systems, sys)
	}
	return s, nil
}

// Env is the variables of every running system, for the services' workers:
// REDIS_URL, NATS_URL, ... A name two systems set is the later one's.
func (s *Set) Env() layout.Env {
	s.mu.Lock()
	defer s.mu.Unlock()
	env := layout.Env{}
	for _, sys := range s.systems {
		maps.Copy(env, sys.env)
	}
	return env
}

// Status is every running system, in start order.
func (s *Set) Status() []Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Status, 0, len(s.systems))
	for _, sys := range s.systems {
		sys.mu.Lock()
		st := Status{
			Name:     sys.spec.Name,
			Kind:     sys.kind(),
			Runs:     sys.runs,
			Addr:     addr(sys.port),
			Env:      maps.Clone(sys.env),
			State:    sys.state,
			Restarts: sys.restarts,
			Exited:   sys.exited,
		}
		if sys.state == StateRunning {
			st.PID = sys.srv.pid()
		}
		if sys.state == StateFailed {
			st.Error = sys.lastErr
		}
		sys.mu.Unlock()
		out = append(out, st)
	}
	return out
}

// Restart stops the command of the backing system name and starts it
// again on the same port, and returns once it is ready again or with why
// it did not get ready (the keeper then tries again after a backoff). An
// embedded server runs inside toil's process and cannot be restarted.
func (s *Set) Restart(ctx context.Context, name string) error {
	s.mu.Lock()
	var sys *system
	for _, x := range s.systems {
		if x.spec.Name == name {
			sys = x
		}
	}
	s.mu.Unlock()
	if sys == nil {
		return fmt.Errorf("no backing system %q runs", name)
	}
	if sys.restart == nil {
		return fmt.Errorf("backing %s is %s, inside toil dev's own process: it cannot stop on its own, so there is nothing to restart; restart toil dev to start it afresh", name, sys.runs)
	}
	reply := make(chan error, 1)
	select {
	case sys.restart <- reply:
	case <-sys.kept:
		return fmt.Errorf("backing %s was stopped", name)
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-reply:
		return err
	case <-sys.kept:
		return fmt.Errorf("backing %s was stopped while it restarted", name)
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Apply makes the running systems those of l: it stops the systems l no
// longer has, restarts those whose settings changed (a new port, so the
// services' variables change too) and starts the new ones. It reports
// whether anything changed. A system that does not start is an error; the
// others are applied all the same.
func (s *Set) Apply(ctx context.Context, l *layout.Layout) (bool, error) {
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		return false, errors.New("backing: the set is stopped")
	}
	old := make(map[string]*system, len(s.systems))
	for _, sys := range s.systems {
		old[sys.spec.Name] = sys
	}
	s.mu.Unlock()

	changed := false
	var errs []error
	var next []*system
	keep := map[string]bool{}
	for _, b := range l.Backing {
		if sys := old[b.Name]; sys != nil && sameBacking(sys.spec, b) {
			keep[b.Name] = true
		}
	}
	// Stop first what goes or changes: a restarted system may want its
	// fixed port back.
	for _, sys := range s.snapshot() {
		if !keep[sys.spec.Name] {
			changed = true
			if err := s.stopOne(ctx, sys); err != nil {
				errs = append(errs, err)
			}
		}
	}
	for _, b := range l.Backing {
		if keep[b.Name] {
			next = append(next, old[b.Name])
			continue
		}
		changed = true
		sys, err := s.start(ctx, b)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		next = append(next, sys)
	}
	s.mu.Lock()
	s.systems = next
	s.mu.Unlock()
	return changed, errors.Join(errs...)
}

// sameBacking reports whether a and b run the same way.
func sameBacking(a, b *layout.Backing) bool {
	return a.Kind == b.Kind && a.Embedded == b.Embedded && a.Cmd == b.Cmd &&
		a.Fallback == b.Fallback && a.Port == b.Port && maps.Equal(a.Env, b.Env) &&
		a.Ready == b.Ready && a.StopTimeout == b.StopTimeout
}

func (s *Set) snapshot() []*system {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.systems)
}

// Stop stops every system, the last started first; each command gets
// SIGTERM, its stop_timeout, then SIGKILL, or SIGKILL at once when ctx
// ends. It returns once all are stopped. Stop may be called more than once.
func (s *Set) Stop(ctx context.Context) error {
	s.mu.Lock()
	systems := s.systems
	s.systems = nil
	s.stopped = true
	s.mu.Unlock()
	var errs []error
	for _, sys := range slices.Backward(systems) {
		if err := s.stopOne(ctx, sys); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (s *Set) stopOne(ctx context.Context, sys *system) error {
	if sys.cancel != nil {
		// No restart may start once the system is being stopped.
		sys.cancel()
		<-sys.kept
	}
	sys.mu.Lock()
	srv := sys.srv
	sys.mu.Unlock()
	err := srv.stop(ctx)
	s.event(Event{Kind: EventStopped, Backing: sys.spec.Name})
	if err != nil {
		return fmt.Errorf("stop backing %s: %w", sys.spec.Name, err)
	}
	return nil
}

func (s *Set) event(e Event) {
	if s.opts.OnEvent == nil {
		return
	}
	e.Time = time.Now()
	s.opts.OnEvent(e)
}

// start starts one system and waits until it is ready.
func (s *Set) start(ctx context.Context, b *layout.Backing) (*system, error) {
	dir := filepath.Join(s.opts.Dir, b.Name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("backing %s: %w", b.Name, err)
	}
	sys := &system{spec: b, state: StateRunning}
	embed := b.Embedded
	if b.Cmd != "" {
		prog := b.Command(0)[0]
		if _, err := exec.LookPath(prog); err != nil {
			if b.Fallback != "embedded" {
				return nil, fmt.Errorf("backing %s: %s is not installed (%v); install it, or add fallback: embedded to backing.%s in %s to run toil's embedded %s instead",
					b.Name, prog, err, b.Name, fileLine(b), fallbackKind(b))
			}
			embed = fallbackKind(b)
			s.event(Event{Kind: EventWarning, Backing: b.Name,
				Reason: fmt.Sprintf("%s is not installed; running toil's embedded %s instead (fallback: embedded). Install %s to develop against the real server", prog, embed, prog)})
			sys.runs = fmt.Sprintf("embedded %s (fallback: %s is not installed)", embed, prog)
		}
	}
	start := time.Now()
	var err error
	switch embed {
	case "nats":
		if sys.runs == "" {
			sys.runs = "embedded nats"
		}
		s.event(Event{Kind: EventStarting, Backing: b.Name, Reason: sys.runs})
		sys.srv, sys.port, err = startNATS(b, dir)
	case "redis":
		if sys.runs == "" {
			sys.runs = "embedded redis"
		}
		s.event(Event{Kind: EventStarting, Backing: b.Name, Reason: sys.runs})
		sys.srv, sys.port, err = startRedis(b)
	default:
		var c *command
		c, sys.port, err = s.startCommand(ctx, b, dir, b.Port)
		if err == nil {
			sys.srv, sys.runs = c, c.line
		}
	}
	if err != nil {
		return nil, err
	}
	sys.env = b.Environ(sys.port)
	s.event(Event{Kind: EventReady, Backing: b.Name, Reason: "on " + addr(sys.port), PID: sys.srv.pid(), Delay: time.Since(start)})
	if _, ok := sys.srv.(*command); ok {
		// Stopped by stopOne, not by the ctx of this start: the system
		// outlives it.
		kctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		sys.cancel, sys.kept, sys.restart = cancel, make(chan struct{}), make(chan chan error)
		go s.keep(kctx, sys, dir)
	}
	return sys, nil
}

// kind is the system's kind, the name standing for it as the layout says.
func (sys *system) kind() string {
	if sys.spec.Kind != "" {
		return sys.spec.Kind
	}
	if slices.Contains(layout.Kinds, sys.spec.Name) {
		return sys.spec.Name
	}
	return sys.spec.Embedded
}

// fallbackKind is the embedded server that stands in for b's command.
func fallbackKind(b *layout.Backing) string {
	if b.Kind != "" {
		return b.Kind
	}
	return b.Name
}

func fileLine(b *layout.Backing) string {
	return fmt.Sprintf("toil.yaml:%d", b.Pos.Line)
}

func addr(port int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) }

// freePort asks the kernel for a free loopback port. Another program may
// take it before the backing system binds it; the system's start then
// fails with "address already in use", and a second toil dev gets a new one.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}
