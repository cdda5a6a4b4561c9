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
	// how); the services that use it will see errors.
	EventExited Kind = "exited"
	// EventStopped: a system was stopped.
	EventStopped Kind = "stopped"
)

// Event is something the set did or saw.
type Event struct {
	Time    time.Time
	Kind    Kind
	Backing string
	Reason  string
	// PID is the command's process (EventReady of a command), else 0.
	PID   int
	Delay time.Duration
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
	// Exited is how the command ended, when it ended while toil ran.
	Exited string
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
	// srv is what runs it: an embedded server or a command.
	srv server
}

// server is a running embedded server or command.
type server interface {
	// pid is the command's process id, 0 for an embedded server.
	pid() int
	// exited says how the command ended, "" while it runs.
	exited() string
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
		out = append(out, Status{
			Name:   sys.spec.Name,
			Kind:   sys.kind(),
			Runs:   sys.runs,
			PID:    sys.srv.pid(),
			Addr:   addr(sys.port),
			Env:    maps.Clone(sys.env),
			Exited: sys.srv.exited(),
		})
	}
	return out
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
	err := sys.srv.stop(ctx)
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
	sys := &system{spec: b}
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
		sys.srv, sys.port, err = s.startCommand(ctx, b, dir)
		if err == nil {
			sys.runs = sys.srv.(*command).line
		}
	}
	if err != nil {
		return nil, err
	}
	sys.env = b.Environ(sys.port)
	s.event(Event{Kind: EventReady, Backing: b.Name, Reason: "on " + addr(sys.port), PID: sys.srv.pid(), Delay: time.Since(start)})
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
