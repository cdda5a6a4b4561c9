package toil

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"
)

// hook runs one lifecycle hook under ctx, timing it. A hook that ignores
// ctx is abandoned when ctx ends (its goroutine runs on until it returns:
// Go cannot stop it) and named in the error.
func (p *proc) hook(ctx context.Context, phase, target, name string, timeout time.Duration, fn func(context.Context) error) (time.Duration, error) {
	start := time.Now()
	if ctx.Err() != nil {
		why := context.Cause(ctx)
		if errors.Is(why, context.DeadlineExceeded) {
			why = fmt.Errorf("the %s timeout (%s) was spent", phase, timeout)
		}
		return 0, &HookError{Phase: phase, Target: target, Hook: name, Err: fmt.Errorf("not run: %w", why)}
	}
	done := make(chan error, 1)
	go func() { done <- callSafely(func() error { return fn(ctx) }) }()
	var err error
	select {
	case err = <-done:
	case <-ctx.Done():
		select {
		case err = <-done:
		default:
			err = context.Cause(ctx)
		}
	}
	elapsed := time.Since(start)
	label := target
	if label != "service" {
		label = strings.TrimPrefix(target, "field ")
	}
	p.metric.hookSeconds.WithLabelValues(phase, label, name).Set(elapsed.Seconds())
	if err == nil {
		return elapsed, nil
	}
	he := &HookError{Phase: phase, Target: target, Hook: name, Elapsed: elapsed, Err: err}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		he.Timeout = timeout
	}
	return elapsed, he
}

// callSafely turns a panic in user code into an error with its stack, so
// one bad hook does not take the process down without its stop hooks.
func callSafely(fn func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v\n%s", r, debug.Stack())
		}
	}()
	return fn()
}

// timings collects hook durations for one log line per phase.
type timings []any

func (t *timings) add(target, hook string, d time.Duration) {
	key := hook
	if target != "service" {
		key = strings.TrimPrefix(target, "field ") + "." + hook
	}
	*t = append(*t, slog.String(key, d.String()))
}

func (p *proc) setState(state string) {
	p.metric.setState(state)
	p.readiness.set(state)
}

func (p *proc) send(state string) {
	if err := p.notify.send(state); err != nil {
		p.log.Warn("sd_notify", "err", err)
	}
}

// run is the lifecycle: setup, actors, stop.
func (p *proc) run(ctx context.Context) error {
	defer p.sockets.closeUnused()
	defer p.setState("stopped")
	addr, _ := p.o.lookupEnv("TOIL_ADMIN_ADDR")
	if p.o.adminAddr != nil {
		addr = *p.o.adminAddr
	}
	if addr != "" {
		stopAdmin, err := p.startAdmin(addr)
		if err != nil {
			return err
		}
		defer stopAdmin()
	}
	if c := p.o.control; c != nil {
		c.start(p.adminAddr)
	}
	if p.typed != nil {
		// Secret fields are redacted by the logger itself (redactAttr).
		p.log.Debug("config", "file", p.configPath, "config", p.snap.cfg)
	} else {
		// Untyped values cannot say which are secrets: keys only.
		p.log.Debug("config", "file", p.configPath, "keys", p.values.Keys())
	}
	for _, v := range p.snap.unknownEnv {
		p.log.Warn("environment variable matches no config key; ignored", "var", v)
	}

	// Background work (switch watching, config reloads) is owned here and
	// waited for before run returns.
	var bg sync.WaitGroup
	bgCtx, bgCancel := context.WithCancel(context.WithoutCancel(ctx))
	defer func() { bgCancel(); bg.Wait() }()
	if p.swFile != "" {
		bg.Go(func() {
			err := p.sw.Watch(bgCtx, func(err error) {
				p.log.Error("switches reload rejected; keeping the old switches", "file", p.swFile, "err", err)
			})
			if err != nil && bgCtx.Err() == nil {
				p.log.Error("switches watch stopped", "file", p.swFile, "err", err)
			}
		})
	}

	p.setState("setup")
	setupT, err := p.setup(ctx)
	if err != nil {
		stopErr := p.stop(ctx, time.Now().Add(p.stopTimeout))
		if ctx.Err() != nil { // SIGTERM during setup: a stop, not a failure
			p.log.Info("stopped during setup")
			return stopErr
		}
		p.log.Error("setup failed", "err", err, slog.Group("setup", setupT...))
		return errors.Join(err, stopErr)
	}
	actors, err := p.actors()
	if err != nil {
		return errors.Join(err, p.stop(ctx, time.Now().Add(p.stopTimeout)))
	}

	// Watch before READY=1, so no change made once the service is ready is
	// missed.
	watcher, closeWatcher := p.watchConfig()
	defer closeWatcher()

	p.setState("running")
	p.send("READY=1")
	p.log.Info("ready", slog.Group("setup", setupT...))
	if c := p.o.control; c != nil {
		c.markReady()
	}
	reloadCtx, stopReloads := context.WithCancel(bgCtx)
	var reloads sync.WaitGroup
	reloads.Go(func() { p.reloadLoop(reloadCtx, watcher) })

	runErr, drainErr, deadline := p.runActors(ctx, actors, func() {
		stopReloads()
		reloads.Wait()
	})
	stopErr := p.stop(ctx, deadline)
	if err := errors.Join(runErr, drainErr, stopErr); err != nil {
		p.log.Error("stopped", "err", err)
		return err
	}
	p.log.Info("stopped")
	return nil
}

// setup runs the mixins' pre-setup in field order, the service's Setup,
// then the mixins' post-setup, all under the setup timeout.
func (p *proc) setup(ctx context.Context) (timings, error) {
	ctx, cancel := context.WithTimeout(ctx, p.setupTimeout)
	defer cancel()
	var t timings
	for _, m := range p.mixins {
		if h, ok := m.ptr.(MixinPreSetup); ok {
			d, err := p.hook(ctx, "setup", m.target(), "ToilPreSetup", p.setupTimeout, func(ctx context.Context) error { return h.ToilPreSetup(ctx, m.env) })
			t.add(m.target(), "ToilPreSetup", d)
			if err != nil {
				return t, err
			}
		}
		m.started = true
	}
	if h, ok := p.svc.(Setupper); ok {
		d, err := p.hook(ctx, "setup", "service", "Setup", p.setupTimeout, h.Setup)
		t.add("service", "Setup", d)
		if err != nil {
			return t, err
		}
	}
	p.svcStarted = true
	for _, m := range p.mixins {
		if h, ok := m.ptr.(MixinPostSetup); ok {
			d, err := p.hook(ctx, "setup", m.target(), "ToilPostSetup", p.setupTimeout, func(ctx context.Context) error { return h.ToilPostSetup(ctx, m.env) })
			t.add(m.target(), "ToilPostSetup", d)
			if err != nil {
				return t, err
			}
		}
	}
	return t, nil
}

// actor is an Actor with who it belongs to, for errors.
type actor struct {
	Actor
	target string
}

// actors collects what runs after setup: a function service itself, or the
// service's Run and the mixins' actors (its HTTP handler is served by its
// HTTP mixin, implicit or not).
func (p *proc) actors() ([]actor, error) {
	if p.fn != nil {
		return []actor{{Actor{Name: "func", Run: func(ctx context.Context) error { return p.fn(ctx, p.s) }}, "service"}}, nil
	}
	var out []actor
	if r, ok := p.svc.(Runner); ok {
		out = append(out, actor{Actor{Name: "Run", Run: r.Run}, "service"})
	}
	for _, m := range p.mixins {
		if ma, ok := m.ptr.(MixinActors); ok {
			for _, a := range ma.ToilActors() {
				out = append(out, actor{a, m.target()})
			}
		}
	}
	return out, nil
}

// runActors runs the actors until ctx is done or one returns, then cancels
// them all and waits for them to drain, until the stop deadline it returns.
// beforeStop runs as stopping starts.
func (p *proc) runActors(ctx context.Context, actors []actor, beforeStop func()) (runErr, drainErr error, deadline time.Time) {
	actx, cancel := context.WithCancel(withDrain(context.WithoutCancel(ctx), p.stopTimeout))
	defer cancel()
	type result struct {
		i   int
		err error
	}
	results := make(chan result, len(actors))
	running := map[int]bool{}
	for i, a := range actors {
		running[i] = true
		go func() { results <- result{i, callSafely(func() error { return a.Run(actx) })} }()
	}
	actorErr := func(r result) error {
		if r.err == nil {
			return nil
		}
		if p.fn != nil {
			return r.err
		}
		return &HookError{Phase: "run", Target: actors[r.i].target, Hook: actors[r.i].Name, Err: r.err}
	}

	var resultsCh <-chan result = results
	if len(actors) == 0 {
		resultsCh = nil
	}
	select {
	case <-ctx.Done():
		p.log.Info("stopping", "cause", context.Cause(ctx))
	case r := <-resultsCh:
		delete(running, r.i)
		runErr = actorErr(r)
		if runErr == nil && p.fn == nil {
			p.log.Info("stopping: an actor returned", "actor", actors[r.i].Name)
		}
	}
	deadline = time.Now().Add(p.stopTimeout)
	p.setState("stopping")
	p.send("STOPPING=1")
	beforeStop()
	cancel()

	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	var errs []error
	for len(running) > 0 {
		select {
		case r := <-results:
			delete(running, r.i)
			if err := actorErr(r); err != nil && !errors.Is(r.err, context.Canceled) {
				errs = append(errs, err)
			}
		case <-timer.C:
			var names []string
			for i := range running {
				names = append(names, actors[i].target+" "+actors[i].Name)
			}
			slices.Sort(names)
			errs = append(errs, fmt.Errorf("stop: actors still running after %s: %s", p.stopTimeout, strings.Join(names, ", ")))
			return runErr, errors.Join(errs...), deadline
		}
	}
	return runErr, errors.Join(errs...), deadline
}

// stop runs the service's Stop, then the mixins' stops in reverse field
// order, until deadline. Hooks whose turn comes after the deadline are
// named as not run.
func (p *proc) stop(ctx context.Context, deadline time.Time) error {
	ctx, cancel := context.WithDeadline(context.WithoutCancel(ctx), deadline)
	defer cancel()
	var t timings
	var errs []error
	if h, ok := p.svc.(Stopper); ok && p.svcStarted {
		d, err := p.hook(ctx, "stop", "service", "Stop", p.stopTimeout, h.Stop)
		t.add("service", "Stop", d)
		errs = append(errs, err)
	}
	for i := len(p.mixins) - 1; i >= 0; i-- {
		m := p.mixins[i]
		if h, ok := m.ptr.(MixinStop); ok && m.started {
			d, err := p.hook(ctx, "stop", m.target(), "ToilStop", p.stopTimeout, h.ToilStop)
			t.add(m.target(), "ToilStop", d)
			errs = append(errs, err)
		}
	}
	if len(t) > 0 {
		p.log.Info("stop hooks done", slog.Group("stop", t...))
	}
	return errors.Join(errs...)
}
