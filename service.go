package toil

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"reflect"
	"runtime"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// S is what a function service receives: its identity and the framework's
// facilities, ready to use.
type S struct {
	Name   string       // the service name, e.g. "hello.world"
	Worker int          // TOIL_WORKER, 1 when unset
	Log    *slog.Logger // carries service and worker on every line
	Stats  *Stats       // Prometheus metrics, served on the admin listener
	Switch *Switches    // feature switches
	Config *Values      // the service's config section, live across reloads

	p *proc
}

// Listen returns the listening socket called name; see [MixinEnv.Listen].
func (s *S) Listen(name, addr string) (net.Listener, error) { return s.p.sockets.listen(name, addr) }

// Func is the signature of a function service. Returning nil ends the
// service (and its process) successfully; ctx is cancelled on SIGTERM.
type Func func(ctx context.Context, s *S) error

// Base is embedded, once, by a struct service. It carries the facilities
// toil fills in before Setup and the service's typed config.
//
// Base has no hook methods of its own, so embedding it never promotes a
// Setup, Run or Stop into the service.
type Base[Cfg any] struct {
	Log    *slog.Logger // carries service and worker on every line
	Stats  *Stats       // Prometheus metrics, served on the admin listener
	Switch *Switches    // feature switches

	cfg atomic.Pointer[Cfg]
	p   *proc
}

// Config returns the current config. It is swapped atomically on reload, so
// keep the returned pointer for the length of one unit of work (a request, a
// message) and call Config again for the next. It is nil before the service
// is started.
func (b *Base[Cfg]) Config() *Cfg { return b.cfg.Load() }

// Service returns the service's name, e.g. "tempest.scorer".
func (b *Base[Cfg]) Service() string {
	if b.p == nil {
		return ""
	}
	return b.p.name
}

// Worker returns TOIL_WORKER, 1 when unset.
func (b *Base[Cfg]) Worker() int {
	if b.p == nil {
		return 0
	}
	return b.p.worker
}

// Listen returns the listening socket called name; see [MixinEnv.Listen].
func (b *Base[Cfg]) Listen(name, addr string) (net.Listener, error) {
	if b.p == nil {
		return nil, fmt.Errorf("listen %s: the service is not running", name)
	}
	return b.p.sockets.listen(name, addr)
}

// Main runs one service as a worker process and exits: 0 when it ends
// cleanly, 1 on failure, 2 on a usage or config error. svc is a [Func] (or a
// func with its signature) or a pointer to a struct embedding [Base]. An
// empty name is derived from svc: hello.World becomes "hello.world".
//
// TOIL_SERVICE, when set, is the name instead: the worker protocol's
// variable, which toil run, toil dev and the exports set to the service's
// name in toil.yaml, so its config section and logs are the same wherever
// it runs.
//
// Main reads os.Args[1:] as flags, handles SIGTERM and SIGINT (drain and
// stop) and SIGHUP (reload config and switches).
func Main(name string, svc any) {
	if v := os.Getenv("TOIL_SERVICE"); v != "" {
		name = v
	}
	os.Exit(mainExit(name, svc, os.Args[1:], os.Stdout, os.Stderr))
}

func mainExit(name string, svc any, args []string, stdout, stderr io.Writer) int {
	if name == "" {
		name = ServiceName(svc)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	// The first signal drains; restoring the default handling then lets a
	// second Ctrl-C kill a service that drains too slowly for its user.
	context.AfterFunc(ctx, stop)
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)

	err := Run(ctx, name, svc, WithArgs(args...), withProcess(hup, stdout))
	switch {
	case err == nil || errors.Is(err, errHelp):
		return 0
	case isUsage(err):
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		return 2
	default:
		// The log already carries the error; this line is for people reading
		// a terminal where the JSON log is noise.
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		return 1
	}
}

// Run is Main without the exit, for tests and embedding: it runs the service
// until ctx is done (a graceful stop, like SIGTERM) or the service returns.
// Unlike Main it installs no signal handlers, reads no os.Args and, when
// [WithEnv] is given, not the process environment either.
func Run(ctx context.Context, name string, svc any, opts ...Option) error {
	o := defaultOptions()
	for _, opt := range opts {
		opt(&o)
	}
	if name == "" {
		name = ServiceName(svc)
	}
	p, err := newProc(name, svc, o)
	if err != nil {
		for _, ln := range o.listeners {
			ln.Close() // ours to close, as WithListener promises
		}
		if o.control != nil {
			o.control.finish(err)
		}
		return err
	}
	err = p.run(ctx)
	if o.control != nil {
		o.control.finish(err)
	}
	return err
}

// ServiceName derives a service name from a function or struct service:
// the package name and the identifier, lower-cased: hello.World becomes
// "hello.world", *tempest.Scorer becomes "tempest.scorer".
func ServiceName(svc any) string {
	v := reflect.ValueOf(svc)
	if !v.IsValid() {
		return "service"
	}
	var full string
	switch v.Kind() {
	case reflect.Func:
		if f := runtime.FuncForPC(v.Pointer()); f != nil {
			full = f.Name() // example.com/app/hello.World
		}
	case reflect.Pointer:
		t := v.Type().Elem()
		full = t.PkgPath() + "." + t.Name()
	default:
		full = v.Type().PkgPath() + "." + v.Type().Name()
	}
	if i := strings.LastIndex(full, "/"); i >= 0 {
		full = full[i+1:]
	}
	return strings.ToLower(full)
}

// Option changes how Run runs a service.
type Option func(*options)

type options struct {
	args         []string
	lookupEnv    func(string) (string, bool)
	environ      func() []string
	processEnv   bool // the environment is the process's: inherited sockets may be read
	logOut       io.Writer
	stdout       io.Writer
	adminAddr    *string
	configFile   *string
	setupTimeout time.Duration
	stopTimeout  time.Duration
	switches     *Switches
	listeners    map[string]net.Listener
	hup          <-chan os.Signal
	control      *Control
	debounce     time.Duration
}

func defaultOptions() options {
	return options{
		lookupEnv:    os.LookupEnv,
		environ:      os.Environ,
		processEnv:   true,
		logOut:       os.Stderr,
		stdout:       os.Stdout,
		setupTimeout: 15 * time.Second,
		stopTimeout:  15 * time.Second,
		debounce:     100 * time.Millisecond,
	}
}

// WithArgs sets the command-line flags (what follows `--` in
// `toil run x -- --greeting=hi`).
func WithArgs(args ...string) Option {
	return func(o *options) { o.args = args }
}

// WithEnv replaces the process environment with env ("KEY=value" entries)
// for everything the service reads: config, TOIL_* settings, LOG_LEVEL. It
// also stops Run from taking inherited sockets (LISTEN_FDS), which belong to
// the process. Tests use it to run services in parallel.
func WithEnv(env ...string) Option {
	return func(o *options) {
		m := make(map[string]string, len(env))
		for _, kv := range env {
			k, v, _ := strings.Cut(kv, "=")
			m[k] = v
		}
		list := append([]string(nil), env...)
		o.lookupEnv = func(k string) (string, bool) { v, ok := m[k]; return v, ok }
		o.environ = func() []string { return list }
		o.processEnv = false
	}
}

// WithLogOutput sends the service's log to w instead of stderr.
func WithLogOutput(w io.Writer) Option {
	return func(o *options) { o.logOut = w }
}

// WithAdminAddr serves the admin endpoints (/metrics, /healthz, /readyz,
// /debug/pprof/) on addr, overriding TOIL_ADMIN_ADDR; "" turns them off.
// Use "127.0.0.1:0" and [Control.AdminAddr] in tests.
func WithAdminAddr(addr string) Option {
	return func(o *options) { o.adminAddr = &addr }
}

// WithConfigFile reads config from path, overriding --config and
// TOIL_CONFIG; "" reads no file.
func WithConfigFile(path string) Option {
	return func(o *options) { o.configFile = &path }
}

// WithSetupTimeout bounds the setup phase (pre-setup hooks, Setup,
// post-setup hooks); the default is 15s, or TOIL_SETUP_TIMEOUT.
func WithSetupTimeout(d time.Duration) Option {
	return func(o *options) { o.setupTimeout = d }
}

// WithStopTimeout bounds the stop phase (draining actors, Stop, mixins'
// stops); the default is 15s, or TOIL_STOP_TIMEOUT.
func WithStopTimeout(d time.Duration) Option {
	return func(o *options) { o.stopTimeout = d }
}

// WithSwitches gives the service sw instead of loading the switches file.
func WithSwitches(sw *Switches) Option {
	return func(o *options) { o.switches = sw }
}

// WithListener hands the service an already-open listening socket, as if it
// had been inherited under name through LISTEN_FDS. Run closes it.
func WithListener(name string, ln net.Listener) Option {
	return func(o *options) {
		if o.listeners == nil {
			o.listeners = make(map[string]net.Listener)
		}
		o.listeners[name] = ln
	}
}

// WithControl lets the caller observe and steer the run through c.
func WithControl(c *Control) Option {
	return func(o *options) { o.control = c }
}

// WithReloadDebounce sets how long a watched config file must stay quiet
// after a change before it is reloaded (default 100ms): one editor save is
// several file events.
func WithReloadDebounce(d time.Duration) Option {
	return func(o *options) { o.debounce = d }
}

// withProcess marks a run as the process's own: SIGHUP reloads, --help
// prints to stdout.
func withProcess(hup <-chan os.Signal, stdout io.Writer) Option {
	return func(o *options) {
		o.hup = hup
		o.stdout = stdout
	}
}

// usageError marks errors in how the service was invoked or configured:
// Main exits 2 for them.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error {
	return usageError{fmt.Errorf(format, args...)}
}

func isUsage(err error) bool {
	var u usageError
	return errors.As(err, &u)
}

// errHelp is returned after --help printed the flags.
var errHelp = errors.New("help requested")
