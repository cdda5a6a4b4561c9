package toil

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// The hooks a service may have. Each is optional and found by interface
// assertion on the service value (a pointer to the struct).
type (
	// Setupper is a service that prepares before running: Setup runs after
	// the mixins' pre-setup and before their post-setup, under the setup
	// timeout. An error stops the service.
	Setupper interface {
		Setup(ctx context.Context) error
	}
	// Runner is a service with a main loop. Run is one actor: it runs
	// beside the others (HTTP serving, consumers) until ctx is cancelled;
	// if it returns first, for any reason, everything stops.
	Runner interface {
		Run(ctx context.Context) error
	}
	// Stopper is a service that tears down: Stop runs after the actors
	// have drained and before the mixins' stops, under the stop timeout.
	Stopper interface {
		Stop(ctx context.Context) error
	}
	// HandlerProvider is a service that serves HTTP: its handler is served
	// on the worker's socket (see [MixinEnv.Listen]) and drained on stop.
	// A service that is itself an http.Handler is served the same way.
	HandlerProvider interface {
		Handler() http.Handler
	}
	// ConfigChanger is a service told about config reloads: ConfigChanged
	// runs with the old and the new config before the new one is swapped
	// in; an error rejects the new config and the old one stays.
	ConfigChanger[Cfg any] interface {
		ConfigChanged(ctx context.Context, old, new *Cfg) error
	}
	// ConfigValidator is a service that checks its config beyond what the
	// config type's own Validate() error method can see. It runs at start
	// and on every reload; an error at start is a config error (exit 2).
	ConfigValidator[Cfg any] interface {
		ValidateConfig(cfg *Cfg) error
	}
)

// The hooks a mixin may have. A mixin is a named field of a struct service
// whose address implements at least one of them. toil asks each field, in
// declaration order, and never the service itself: a mixin embedded in the
// service would promote its hooks to the service and run twice (or, with
// two embedded, not at all). The Toil prefix keeps them apart from the
// service's own Setup and Stop.
type (
	// MixinConfig gives the mixin a typed config: ToilConfig returns a new
	// pointer to its config struct holding the defaults, on every load. toil
	// fills it from the service's section under the field's key (e.g.
	// redis: for a field Redis), the environment and flags, calls its
	// Validate() error method if it has one, and hands it over as
	// [MixinEnv.Config] and to ToilConfigChanged.
	MixinConfig interface {
		ToilConfig() any
	}
	// MixinPreSetup runs before the service's Setup, in field order: connect,
	// bind, check. env stays valid for the life of the service.
	MixinPreSetup interface {
		ToilPreSetup(ctx context.Context, env *MixinEnv) error
	}
	// MixinPostSetup runs after the service's Setup, in field order: the
	// service is configured, so the mixin can look at what it set up.
	MixinPostSetup interface {
		ToilPostSetup(ctx context.Context, env *MixinEnv) error
	}
	// MixinActors contributes actors (serving, consuming) that run beside
	// the service's Run; it is asked once, after post-setup.
	MixinActors interface {
		ToilActors() []Actor
	}
	// MixinStop runs after the service's Stop, in reverse field order.
	MixinStop interface {
		ToilStop(ctx context.Context) error
	}
	// MixinConfigChanged is told about a reload before the new config is
	// swapped in. old and new are what ToilConfig returned, filled (or,
	// without ToilConfig, *Values snapshots of the section). An error
	// rejects the new config for the whole service.
	MixinConfigChanged interface {
		ToilConfigChanged(ctx context.Context, old, new any) error
	}
)

// Actor is one long-running part of a service: its Run, HTTP serving, a
// queue consumer. Actors start together after setup; when one returns, all
// are cancelled (oklog/run semantics) and the service stops. Run should
// return soon after ctx is cancelled, having drained its in-flight work
// within [DrainTimeout].
type Actor struct {
	Name string
	Run  func(ctx context.Context) error
}

// MixinEnv is what a mixin gets from the service it is a field of.
type MixinEnv struct {
	Service string       // the service name, e.g. "tempest.scorer"
	Worker  int          // TOIL_WORKER
	Field   string       // the field name, e.g. "Redis"
	Section string       // the field's config key, e.g. "redis"
	Log     *slog.Logger // the service's logger, with mixin=Field
	Stats   *Stats       // the service's metrics registry
	Switch  *Switches    // the service's feature switches
	Owner   any          // the service value (a pointer), to find its handlers
	Values  *Values      // the field's config section, untyped, live

	// Config is the mixin's typed config (see [MixinConfig]) as of the
	// last load; nil without ToilConfig. Reloads hand the new one to
	// ToilConfigChanged; the mixin keeps whichever it uses.
	Config any

	p *proc
}

// Listen returns a listening socket. With name it is the socket inherited
// under that name (LISTEN_FDNAMES); with "" the only inherited socket.
// Without inherited sockets it listens on :$PORT (for "" and "http"), else
// on addr. Each inherited socket is handed out once.
func (e *MixinEnv) Listen(name, addr string) (net.Listener, error) {
	return e.p.sockets.listen(name, addr)
}

// AddReadyCheck makes /readyz depend on check: while it returns an error
// the worker reports not ready (with the error, under name).
func (e *MixinEnv) AddReadyCheck(name string, check func(ctx context.Context) error) {
	e.p.readiness.add(e.Field+"."+name, check)
}

// LookupEnv reads the service's environment (which tests may replace).
func (e *MixinEnv) LookupEnv(key string) (string, bool) { return e.p.o.lookupEnv(key) }

// HookError is a lifecycle hook that failed or timed out.
type HookError struct {
	Phase   string        // "setup", "run", "stop" or "reload"
	Target  string        // "service" or "field Redis"
	Hook    string        // "Setup", "ToilPreSetup", ...
	Elapsed time.Duration // how long it ran
	Timeout time.Duration // the phase's timeout, when that is what ended it
	Err     error
}

func (e *HookError) Error() string {
	if e.Timeout > 0 {
		return fmt.Sprintf("%s: %s (%s) timed out after %s", e.Phase, e.Target, e.Hook, e.Timeout)
	}
	return fmt.Sprintf("%s: %s (%s): %v", e.Phase, e.Target, e.Hook, e.Err)
}

func (e *HookError) Unwrap() error { return e.Err }
