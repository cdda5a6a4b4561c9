package supervise

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/toilhq/toil/internal/shim"
	"github.com/toilhq/toil/layout"
)

// NoProtocolSettle is how long a worker that has no way to say it is ready
// (a main: service that listens nowhere and sends no READY=1) must stay up
// to count as ready: einhorn's default ACK timer. ready_timeout caps it.
const NoProtocolSettle = time.Second

// ErrStopped is returned by operations on a supervisor that is stopping or
// stopped.
var ErrStopped = errors.New("the supervisor is stopped")

// Options configure a [Supervisor].
type Options struct {
	// Layout is the system to run. The supervisor keeps it; [Supervisor.Apply]
	// replaces it.
	Layout *layout.Layout
	// Env is TOIL_ENV for every worker: "dev" (the default) or "prod".
	Env string
	// Environ is the environment workers start from; nil means toil's own
	// (os.Environ). The worker protocol's variables (LISTEN_*,
	// NOTIFY_SOCKET, TOIL_SERVICE, TOIL_WORKER, TOIL_ENV, TOIL_ADMIN_ADDR,
	// PORT) are removed from it: the supervisor sets them.
	Environ []string
	// Backing are the running backing systems' variables (REDIS_URL, ...);
	// the layout's env wins over them (see layout.Layout.Environ).
	Backing layout.Env
	// Shim is the command that starts a worker which inherits a socket, so
	// that LISTEN_PID is its pid: the worker's binary and arguments are
	// appended. Nil means this executable as internal/shim: {os.Executable(),
	// "__shim"}.
	Shim []string
	// StateDir, when set, is where the supervisor records its workers and
	// holds a lock (toil dev uses .toil/dev): workers left running by a
	// supervisor that was killed are killed by the next one.
	StateDir string

	// Log receives every line a worker writes, whole, without its newline.
	// It is called from many goroutines at once.
	Log func(Line)
	// OnEvent receives what the supervisor does and sees, in order, from a
	// single goroutine of the supervisor's; it may call Status.
	OnEvent func(Event)
	// OnBackends receives a service's current backends whenever they change:
	// for a run: service with a listen address, its socket; for a main:
	// service, the address of each ready worker. A rollout publishes a
	// successor before it stops the predecessor, and waits for the call to
	// return, so a proxy that applies the set before returning never sends a
	// request to a worker that was told to stop. Calls are serialized; it
	// must not call back into the Supervisor.
	OnBackends func(service string, backends []Backend)

	// BackoffMin, BackoffMax and BackoffReset override the crash backoff
	// (zero: layout.BackoffMin, BackoffMax, BackoffReset).
	BackoffMin, BackoffMax, BackoffReset time.Duration

	// noPdeathsig lets a test leave workers running after the supervisor is
	// killed, to exercise the stale-worker cleanup.
	noPdeathsig bool
}

// Backend is one address a service's requests can go to.
type Backend struct {
	// ID names it: the service ("web") for a shared socket, the worker
	// ("legacy.2") for a main: service's worker.
	ID string
	// Addr is "127.0.0.1:port", or a unix socket's absolute path.
	Addr string
}

// Line is one line of a worker's output.
type Line struct {
	Service string
	Worker  int // 1..procs
	PID     int
	Stderr  bool
	Text    string
}

// ID is the worker's name, "web.2".
func (l Line) ID() string { return WorkerID(l.Service, l.Worker) }

// WorkerID is the name of worker n of a service: "web.2".
func WorkerID(service string, n int) string { return fmt.Sprintf("%s.%d", service, n) }

// Supervisor runs a layout's workers. Create it with [New], start the
// workers with [Supervisor.Start], end with [Supervisor.Stop].
type Supervisor struct {
	opts   Options
	shim   []string
	tmp    string // the workers' notify sockets
	spawn  *spawner
	state  *stateFile // nil without StateDir
	events *dispatcher

	backoffMin, backoffMax, backoffReset time.Duration

	ctx    context.Context // cancelled by Stop: aborts rollouts and pending restarts
	cancel context.CancelFunc
	wg     sync.WaitGroup // every goroutine the supervisor starts
	ops    sync.WaitGroup // public operations in flight
	pubMu  sync.Mutex     // serializes OnBackends calls

	mu       sync.Mutex
	layout   *layout.Layout
	services []*service
	procs    map[*proc]bool // every worker process not yet reaped
	ports    map[int]bool   // ports handed to live workers
	gen      int            // the last worker generation number
	starting int            // workers being started, not yet in procs
	restarts int            // restarts waiting for their backoff
	started  bool
	closed   bool
	killNow  chan struct{} // closed when Stop's context ends: no more grace
	changed  chan struct{} // closed and replaced on every state change
	stopErr  error
	stopOnce sync.Once
}

// New checks opts, takes the state directory's lock, kills the workers a
// killed supervisor left behind there, and binds every service's listen
// address. It starts no worker: see [Supervisor.Start]. On error nothing is
// left bound or running.
func New(opts Options) (_ *Supervisor, err error) {
	if platformErr != nil {
		return nil, platformErr
	}
	if opts.Layout == nil {
		return nil, errors.New("supervise: no layout")
	}
	switch opts.Env {
	case "":
		opts.Env = "dev"
	case "dev", "prod":
	default:
		return nil, fmt.Errorf("supervise: TOIL_ENV %q: want dev or prod", opts.Env)
	}
	if opts.Environ == nil {
		opts.Environ = os.Environ()
	}
	s := &Supervisor{
		opts:         opts,
		shim:         opts.Shim,
		backoffMin:   orDefault(opts.BackoffMin, layout.BackoffMin),
		backoffMax:   orDefault(opts.BackoffMax, layout.BackoffMax),
		backoffReset: orDefault(opts.BackoffReset, layout.BackoffReset),
		layout:       opts.Layout,
		procs:        map[*proc]bool{},
		ports:        map[int]bool{},
		killNow:      make(chan struct{}),
		changed:      make(chan struct{}),
	}
	if s.shim == nil {
		exe, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("supervise: find toil's executable for the worker shim: %w", err)
		}
		s.shim = []string{exe, shim.Arg}
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.events = newDispatcher(opts.OnEvent)
	s.wg.Go(s.events.run)

	var cleanup []func()
	defer func() {
		if err != nil {
			for _, f := range slices.Backward(cleanup) {
				f()
			}
			s.cancel()
			s.events.close()
			s.wg.Wait()
		}
	}()

	if opts.StateDir != "" {
		st, stale, err := openState(opts.StateDir)
		if err != nil {
			return nil, err
		}
		cleanup = append(cleanup, st.close)
		s.state = st
		for _, w := range stale {
			s.emit(Event{Kind: EventStaleKilled, Service: w.Service, Worker: w.Worker, PID: w.PID, Binary: w.Binary,
				Reason: fmt.Sprintf("left running by a supervisor that was killed (state in %s)", opts.StateDir)})
		}
	}

	s.tmp, err = os.MkdirTemp("", notifyDirPrefix)
	if err != nil {
		return nil, fmt.Errorf("supervise: temp dir for notify sockets: %w", err)
	}
	cleanup = append(cleanup, func() { os.RemoveAll(s.tmp) })
	if s.state != nil {
		// A supervisor that is killed leaves it: the next one removes it.
		s.state.setNotifyDir(s.tmp)
	}

	for _, spec := range opts.Layout.Services {
		svc, err := s.newService(spec)
		if err != nil {
			return nil, err
		}
		cleanup = append(cleanup, func() { s.closeSockets(svc) })
		s.services = append(s.services, svc)
	}

	s.spawn = newSpawner(&s.wg)
	return s, nil
}

func orDefault(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// Start starts every service's workers, each service once those it
// depends on are ready (or their ready_timeout passed: a dependency that
// crashloops does not hold the others back). binaries maps each service to
// the binary its workers run. Start returns once every worker is started;
// [Supervisor.WaitReady] waits for them to be ready.
func (s *Supervisor) Start(ctx context.Context, binaries map[string]string) error {
	done, err := s.beginOp()
	if err != nil {
		return err
	}
	defer done()
	s.mu.Lock()
	if s.started {
		s.mu.Unlock()
		return errors.New("supervise: Start called twice")
	}
	var errs []error
	for _, svc := range s.services {
		svc.binary = binaries[svc.name]
		if svc.binary == "" {
			errs = append(errs, fmt.Errorf("start: no binary for service %s", svc.name))
		} else if err := checkBinary(svc.binary); err != nil {
			errs = append(errs, fmt.Errorf("start %s: %w", svc.name, err))
		}
	}
	s.started = len(errs) == 0 // a caller may fix the binaries and try again
	order := s.layout.StartOrder()
	s.mu.Unlock()
	if len(errs) > 0 {
		return errors.Join(errs...)
	}

	ctx, cancel := s.opContext(ctx)
	defer cancel()
	for _, spec := range order {
		for _, dep := range spec.Depends {
			s.waitDependency(ctx, spec.Name, dep)
		}
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("start %s: %w", spec.Name, err)
		}
		svc := s.service(spec.Name)
		if svc == nil {
			continue
		}
		svc.op.Lock()
		s.publish(svc)
		err := s.startSlots(svc, spec.Procs)
		svc.op.Unlock()
		if err != nil {
			return err
		}
	}
	return nil
}

// waitDependency waits for the service dep (a backing system is not
// ours: those are ready before Start) to be ready, up to its ready
// timeout, and says so when it is not.
func (s *Supervisor) waitDependency(ctx context.Context, name, dep string) {
	s.mu.Lock()
	d := s.serviceLocked(dep)
	s.mu.Unlock()
	if d == nil {
		return
	}
	wctx, cancel := context.WithTimeout(ctx, d.spec.ReadyTimeout)
	defer cancel()
	if err := s.waitReady(wctx, []*service{d}); err != nil && ctx.Err() == nil {
		s.emit(Event{Kind: EventWarning, Service: name,
			Reason: fmt.Sprintf("starting %s although %s, which it depends on, is not ready after %s", name, dep, d.spec.ReadyTimeout)})
	}
}

// WaitReady waits until every worker of the named services (of all
// services, with none named) is ready, or ctx ends: then the error names
// the workers that are not.
func (s *Supervisor) WaitReady(ctx context.Context, services ...string) error {
	s.mu.Lock()
	var list []*service
	if len(services) == 0 {
		list = slices.Clone(s.services)
	}
	for _, name := range services {
		svc := s.serviceLocked(name)
		if svc == nil {
			s.mu.Unlock()
			return s.unknown(name)
		}
		list = append(list, svc)
	}
	s.mu.Unlock()
	return s.waitReady(ctx, list)
}

func (s *Supervisor) waitReady(ctx context.Context, list []*service) error {
	var notReady []string
	err := s.waitFor(ctx, func() bool {
		notReady = notReady[:0]
		for _, svc := range list {
			for _, sl := range svc.slots {
				if sl.cur == nil || sl.cur.readyAt.IsZero() {
					notReady = append(notReady, WorkerID(svc.name, sl.n))
				}
			}
		}
		return len(notReady) == 0
	})
	if err != nil {
		return fmt.Errorf("not ready: %s: %w", strings.Join(notReady, ", "), err)
	}
	return nil
}

// waitFor waits until cond, called with s.mu held, is true.
func (s *Supervisor) waitFor(ctx context.Context, cond func() bool) error {
	for {
		s.mu.Lock()
		ok := cond()
		ch := s.changed
		s.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// broadcastLocked wakes every waitFor.
func (s *Supervisor) broadcastLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// Stop stops every worker: SIGTERM to each worker's process group, then
// SIGKILL to the groups still alive after their service's stop_timeout, or
// at once when ctx ends. It waits for every process to be reaped and every
// goroutine to end, then closes the sockets and releases the state
// directory. Operations still running (a rollout) are cancelled. Stop may
// be called more than once; every call returns when the first is done.
func (s *Supervisor) Stop(ctx context.Context) error {
	s.stopOnce.Do(func() { s.stopErr = s.stop(ctx) })
	return s.stopErr
}

func (s *Supervisor) stop(ctx context.Context) error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.cancel()
	stopKill := context.AfterFunc(ctx, func() { close(s.killNow) })
	s.ops.Wait()

	s.mu.Lock()
	for p := range s.procs {
		s.stopProcLocked(p, s.graceLocked(p))
	}
	s.mu.Unlock()
	// Every worker is reaped, every pending restart and probe is done.
	s.waitProcs()
	stopKill()
	for _, svc := range s.services {
		s.closeSockets(svc)
	}
	s.spawn.close()
	s.events.close()
	s.wg.Wait()

	var errs []error
	if s.state != nil {
		errs = append(errs, s.state.clear())
		s.state.close()
	}
	if err := os.RemoveAll(s.tmp); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// waitProcs waits until no worker process is left, being started or
// waiting for a restart.
func (s *Supervisor) waitProcs() {
	_ = s.waitFor(context.Background(), func() bool {
		return len(s.procs) == 0 && s.starting == 0 && s.restarts == 0
	})
}

// beginOp registers a public operation, so Stop waits for it, or refuses
// it once the supervisor is stopping.
func (s *Supervisor) beginOp() (done func(), err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrStopped
	}
	s.ops.Add(1)
	return s.ops.Done, nil
}

// opContext is ctx, also cancelled when the supervisor stops.
func (s *Supervisor) opContext(ctx context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(s.ctx, cancel)
	return ctx, func() { stop(); cancel() }
}

// service returns the running service called name, or nil.
func (s *Supervisor) service(name string) *service {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.serviceLocked(name)
}

func (s *Supervisor) serviceLocked(name string) *service {
	for _, svc := range s.services {
		if svc.name == name {
			return svc
		}
	}
	return nil
}

func (s *Supervisor) unknown(name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	names := make([]string, len(s.services))
	for i, svc := range s.services {
		names[i] = svc.name
	}
	return fmt.Errorf("no service %q; there are %s", name, strings.Join(names, ", "))
}

// graceLocked is how long p has between SIGTERM and SIGKILL.
func (s *Supervisor) graceLocked(p *proc) time.Duration {
	if p.spec.StopTimeout > 0 {
		return p.spec.StopTimeout
	}
	return layout.DefaultStopTimeout
}
