package devloop

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/toilhq/toil/devloop/build"
	"github.com/toilhq/toil/devloop/proxy"
	"github.com/toilhq/toil/devloop/supervise"
	"github.com/toilhq/toil/devloop/watch"
	"github.com/toilhq/toil/layout"
)

// inbox carries what builds, rolls and the supervisor report to the loop.
// Posting never blocks, so a callback of the supervisor's can post while
// the loop waits on the supervisor.
type inbox struct {
	mu    sync.Mutex
	items []func()
	ready chan struct{}
}

func newInbox() *inbox { return &inbox{ready: make(chan struct{}, 1)} }

func (b *inbox) post(f func()) {
	b.mu.Lock()
	b.items = append(b.items, f)
	b.mu.Unlock()
	select {
	case b.ready <- struct{}{}:
	default:
	}
}

func (b *inbox) take() []func() {
	b.mu.Lock()
	defer b.mu.Unlock()
	items := b.items
	b.items = nil
	return items
}

// roll is a rollout running: a service's workers being replaced.
type roll struct {
	cancel  context.CancelFunc
	binary  string // "" for a restart
	start   time.Time
	ready   time.Duration // the first new worker's time to ready
	reload  *reload       // the save it serves, nil for a restart
	restart string        // why it restarts, for a restart
	// result, when set, hears how it ended (toil dev restart waits).
	result chan error
}

// reload is one save being turned into running code: its build, then the
// rollouts of the services the build changed.
type reload struct {
	first    time.Time // the save
	build    time.Duration
	services []string
	pending  int
	ready    time.Duration
	roll     time.Duration
	ok       []string
}

// loop follows the watcher and the inbox until ctx is done.
func (d *dev) loop(ctx context.Context) {
	events := d.watcher.Events()
	for {
		select {
		case <-ctx.Done():
			return
		case b, ok := <-events:
			if !ok {
				events = nil
				d.ui.Error("the file watcher stopped: saves are no longer seen; restart toil dev")
				continue
			}
			d.mu.Lock()
			d.onBatch(ctx, b)
			d.refresh()
			d.mu.Unlock()
		case <-d.inbox.ready:
			d.mu.Lock()
			for _, f := range d.inbox.take() {
				f()
			}
			d.refresh()
			d.mu.Unlock()
		}
	}
}

// post runs f on the loop, with d.mu held, unless the loop has ended.
func (d *dev) post(f func()) { d.inbox.post(f) }

// onBatch acts on one batch of saved files.
func (d *dev) onBatch(ctx context.Context, b watch.Batch) {
	var files []string
	reloads := map[string][]string{}  // service → config files changed
	restarts := map[string][]string{} // service → watch: files changed
	layoutChanged := false
	for _, c := range b.Changes {
		abs := filepath.Join(d.mod.Root, filepath.FromSlash(c.Path))
		if c.Kind == watch.Layout {
			layoutChanged = true
			continue
		}
		if svcs := d.configOf(abs, c.Kind == watch.Config); len(svcs) > 0 {
			for _, s := range svcs {
				reloads[s] = append(reloads[s], c.Path)
			}
			continue
		}
		files = append(files, abs)
		for _, s := range d.desired.Services {
			if matchesAny(d.desired, s.Watch, abs) {
				restarts[s.Name] = append(restarts[s.Name], c.Path)
			}
		}
	}
	if layoutChanged {
		d.reloadLayout(ctx, b.First)
	}
	for _, s := range d.desired.Services {
		if paths := reloads[s.Name]; len(paths) > 0 && d.binaries[s.Name] != "" {
			if err := d.sup.Reload(s.Name); err != nil {
				d.ui.Error("reload %s: %v", s.Name, err)
				continue
			}
			d.ui.Info("%s changed: SIGHUP to %s's workers, which reload their config without restarting", strings.Join(paths, ", "), s.Name)
		}
	}
	for _, s := range d.desired.Services {
		if paths := restarts[s.Name]; len(paths) > 0 && d.binaries[s.Name] != "" {
			d.startRoll(ctx, s.Name, "", nil, strings.Join(paths, ", ")+" changed (watch:)")
		}
	}
	if len(files) > 0 {
		d.startBuild(ctx, files, b.First, false)
	}
}

// configOf returns the services that read the config file abs: those that
// list it under config:, or, for toil.config.* beside toil.yaml (kind
// Config from the watcher), every toil service, as each reads its section
// of it.
func (d *dev) configOf(abs string, isConfig bool) []string {
	var out []string
	for _, s := range d.desired.Services {
		for _, c := range s.Config {
			if d.desired.Path(c) == abs {
				out = append(out, s.Name)
			}
		}
	}
	if len(out) == 0 && isConfig && filepath.Dir(abs) == d.desired.Dir {
		for _, s := range d.desired.Services {
			if s.Toil() {
				out = append(out, s.Name)
			}
		}
	}
	return out
}

// startBuild builds for the changed files (all services when files is
// nil); a build already running is superseded and its files carried over.
// After a toil.yaml change, apply makes the supervisor take the new layout
// once the build is done.
func (d *dev) startBuild(ctx context.Context, files []string, first time.Time, apply bool) {
	if d.pendingFirst.IsZero() || first.Before(d.pendingFirst) {
		d.pendingFirst = first
	}
	d.applyPending = d.applyPending || apply
	d.building = true
	for _, s := range d.desired.Services {
		d.freshWhenReady(s.Name, "") // a newer source is coming
		if d.failed[s.Name] == "" {
			d.setStale(s.Name, "building: source changed at "+first.Format("15:04:05"))
		}
	}
	b := d.builder
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		res, err := b.Build(ctx, build.Reason{Files: files})
		d.post(func() { d.buildDone(ctx, b, res, err) })
	}()
}

// buildDone acts on a build's result: show failures, roll the services
// with a new binary, start those that built for the first time.
func (d *dev) buildDone(ctx context.Context, b *build.Builder, res *build.Result, err error) {
	if errors.Is(err, build.ErrSuperseded) || b != d.builder {
		// A newer build has these files too.
		return
	}
	d.building = false
	first := d.pendingFirst
	d.pendingFirst = time.Time{}
	apply := d.applyPending
	d.applyPending = false
	if err != nil {
		if ctx.Err() == nil {
			d.ui.Error("build: %v", err)
		}
		for _, s := range d.desired.Services {
			if d.failed[s.Name] == "" {
				d.setStale(s.Name, "")
			}
		}
		return
	}
	var fixed, changed, added []string
	for _, s := range res.Services {
		if s.State == build.Failed {
			d.failed[s.Name] = s.Output
			continue
		}
		if d.failed[s.Name] != "" {
			delete(d.failed, s.Name)
			fixed = append(fixed, s.Name)
		}
		switch {
		case s.Binary == "" || s.Binary == d.binaries[s.Name]:
			if d.rolls[s.Name] == nil {
				d.setStale(s.Name, "")
			}
		case !d.running(s.Name):
			d.binaries[s.Name] = s.Binary
			added = append(added, s.Name)
			// Its first workers start with the apply below, which ends
			// the starting state.
			d.proxy.SetStarting(s.Name, true)
		default:
			d.binaries[s.Name] = s.Binary
			changed = append(changed, s.Name)
		}
	}
	d.showBuild(res, fixed)
	if apply || len(added) > 0 {
		// The supervisor takes the new layout (or the services that
		// built for the first time); Apply rolls the services whose
		// settings changed onto their new binaries.
		rolled := d.apply(ctx)
		changed = slices.DeleteFunc(changed, func(s string) bool { return slices.Contains(rolled, s) })
	}
	if len(changed) == 0 {
		return
	}
	r := &reload{first: first, build: res.Duration, services: changed, pending: len(changed)}
	for _, s := range changed {
		d.startRoll(ctx, s, d.binaries[s], r, "")
	}
}

// showBuild says what a build did: each failure with the compiler's
// messages (once per distinct output), each fix.
func (d *dev) showBuild(res *build.Result, fixed []string) {
	for _, s := range res.Services {
		if s.State != build.Failed {
			continue
		}
		d.proxy.SetBuildError(s.Name, s.Output)
		d.freshWhenReady(s.Name, "")
		how := "it is not running"
		if d.binaries[s.Name] != "" {
			how = "its workers keep serving the previous build"
			d.setStale(s.Name, fmt.Sprintf("build failed at %s; serving the previous build", time.Now().Format("15:04:05")))
		} else {
			// It never built: nothing serves, stale or not, and nothing
			// will until the source is fixed. The proxy answers 502 with
			// the build error rather than a 503 "starting" page.
			d.setStale(s.Name, "")
			d.proxy.SetStarting(s.Name, false)
		}
		if d.shownErr[s.Name] == s.Output {
			continue
		}
		d.shownErr[s.Name] = s.Output
		d.ui.Block(fmt.Sprintf("build failed: %s (%s)", s.Name, how), s.Output)
	}
	for _, s := range fixed {
		delete(d.shownErr, s)
		d.proxy.SetBuildError(s, "")
		d.ui.Info("%s builds again", s)
	}
}

// running reports whether the supervisor runs service.
func (d *dev) running(service string) bool {
	return d.sup != nil && slices.ContainsFunc(d.sup.Status(), func(s supervise.ServiceStatus) bool { return s.Name == service })
}

// apply makes the supervisor run the effective layout, in the background,
// and returns the services it rolls because their settings changed.
func (d *dev) apply(ctx context.Context) []string {
	l := d.effective()
	bins := d.built()
	var rolled []string
	for _, sc := range layout.Diff(d.applied, l).Changed {
		if sc.Roll() {
			rolled = append(rolled, sc.Service)
		}
	}
	d.applied = l
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		err := d.sup.Apply(ctx, l, bins)
		d.post(func() {
			if err != nil && ctx.Err() == nil {
				d.ui.Error("apply %s: %v", relPath(d.path), err)
			}
			for _, s := range l.Services {
				d.proxy.SetStarting(s.Name, false)
				if d.failed[s.Name] == "" && d.rolls[s.Name] == nil && !d.building {
					d.setStale(s.Name, "")
				}
			}
		})
	}()
	return rolled
}

// reloadLayout reads toil.yaml again after it changed and applies what
// changed; an invalid file keeps the running layout.
func (d *dev) reloadLayout(ctx context.Context, first time.Time) {
	nl, err := layout.Load(d.path)
	if err != nil {
		if msg := err.Error(); msg != d.layoutErr {
			d.layoutErr = msg
			d.ui.Error("%s is invalid; still running the previous layout until it is fixed:\n%s", relPath(d.path), msg)
		}
		return
	}
	wasInvalid := d.layoutErr != ""
	d.layoutErr = ""
	c := layout.Diff(d.desired, nl)
	if c.Empty() {
		d.desired = nl
		if wasInvalid {
			d.ui.Info("%s is valid again; nothing to change", relPath(d.path))
		}
		return
	}
	d.ui.Info("%s changed:\n%s", relPath(d.path), strings.TrimRight(c.String(), "\n"))
	for _, sc := range c.Scaled {
		delete(d.scale, sc.Service)
	}
	for _, name := range c.Removed {
		delete(d.binaries, name)
		delete(d.failed, name)
		delete(d.scale, name)
		delete(d.shownErr, name)
		delete(d.rollErr, name)
		d.freshWhenReady(name, "")
		d.setStale(name, "")
		d.proxy.SetBuildError(name, "")
	}
	d.desired = nl
	d.ui.SetServices(names(nl), procs(nl))
	d.ui.SetBacking(backingNames(nl))
	if c.Proxy != nil {
		d.applyProxy(nl, c.Proxy)
	}
	rebuild := len(c.Added) > 0 || slices.ContainsFunc(c.Changed, func(sc layout.ServiceChange) bool {
		return sc.Has(layout.FieldRun) || sc.Has(layout.FieldMain)
	})
	if rebuild {
		b, err := build.New(d.mod, nl, d.buildOptions())
		if err != nil {
			d.ui.Error("%v", err)
			return
		}
		d.builder = b
	}
	backingChanged := len(c.BackingAdded)+len(c.BackingRemoved)+len(c.BackingChanged) > 0
	// Backing systems restart off the loop; then the services follow.
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		var berr error
		if backingChanged {
			_, berr = d.backing.Apply(ctx, nl)
		}
		d.post(func() {
			if berr != nil {
				d.ui.Error("%v", berr)
			}
			if rebuild {
				d.startBuild(ctx, nil, first, true)
			} else {
				d.apply(ctx)
			}
		})
	}()
}

// applyProxy applies a change of toil.yaml's proxy: section.
func (d *dev) applyProxy(nl *layout.Layout, pc *layout.ProxyChange) {
	switch {
	case pc.Removed:
		d.stopProxy()
		d.ui.Info("proxy stopped")
		return
	case pc.Added || pc.Listen:
		d.stopProxy()
		if err := d.startProxy(nl); err != nil {
			d.ui.Error("%v", err)
			return
		}
	case pc.Routes:
		routes := make([]proxy.Route, 0, len(nl.Proxy.Routes))
		for _, r := range nl.Proxy.Routes {
			routes = append(routes, proxy.Route{Path: r.Path, Service: r.To, StripPrefix: r.StripPrefix})
		}
		if err := d.proxy.SetRoutes(routes); err != nil {
			d.ui.Error("proxy routes: %v", err)
		}
	}
	if pc.Timeouts {
		d.ui.Warn("the proxy's new timeouts apply when toil dev restarts")
	}
}

// startRoll replaces service's workers with workers running binary (""
// restarts them), cancelling a rollout of the service still running.
func (d *dev) startRoll(ctx context.Context, service, binary string, rl *reload, why string) {
	if old := d.rolls[service]; old != nil {
		old.cancel()
	}
	rctx, cancel := context.WithCancel(ctx)
	r := &roll{cancel: cancel, binary: binary, start: time.Now(), reload: rl, restart: why}
	d.rolls[service] = r
	if binary != "" && d.failed[service] == "" && !d.building {
		// The newest source is what the successors run: once the first
		// serves, the service is no longer stale, however long the rest of
		// the rollout takes.
		d.freshWhenReady(service, binary)
	} else {
		d.freshWhenReady(service, "")
	}
	if why != "" {
		d.ui.Info("%s: restarting %s", why, service)
	}
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		defer cancel()
		err := d.sup.Roll(rctx, service, binary)
		took := time.Since(r.start)
		d.post(func() { d.rollDone(service, r, err, took) })
	}()
}

// rollDone acts on a finished rollout.
func (d *dev) rollDone(service string, r *roll, err error, took time.Duration) {
	if d.rolls[service] == r {
		delete(d.rolls, service)
		d.freshWhenReady(service, "")
	}
	if r.result != nil {
		r.result <- err
	}
	var re *supervise.RollError
	switch {
	case err == nil:
		delete(d.rollErr, service)
		if d.failed[service] == "" && d.rolls[service] == nil && !d.building {
			d.setStale(service, "")
		}
	case errors.Is(err, context.Canceled):
		// A newer build or the end of toil dev took over.
		if rl := r.reload; rl != nil {
			rl.pending--
		}
		return
	case errors.As(err, &re):
		d.rollErr[service] = re.Reason
		d.setStale(service, fmt.Sprintf("the new build did not start at %s; serving the previous build", time.Now().Format("15:04:05")))
		d.ui.Block(fmt.Sprintf("%s: new worker %s %s; the old workers keep serving", service, supervise.WorkerID(service, re.Worker), re.Reason),
			strings.Join(re.Lines, "\n"))
	default:
		d.ui.Error("%s: %v", service, err)
	}
	if r.reload == nil {
		if err == nil {
			d.ui.Info("%s restarted in %s", service, seconds(took))
		}
		return
	}
	rl := r.reload
	rl.pending--
	rl.roll = max(rl.roll, took)
	if err == nil {
		rl.ok = append(rl.ok, service)
		if rl.ready == 0 || (r.ready > 0 && r.ready < rl.ready) {
			rl.ready = r.ready
		}
	}
	if rl.pending == 0 && len(rl.ok) > 0 {
		d.ui.Reload(uiReload(rl, time.Now()))
	}
}

// supEvent hands the supervisor's events to the loop.
func (d *dev) supEvent(e supervise.Event) {
	fresh := e.Kind == supervise.EventReady && d.clearOnReady(e.Service, e.Binary)
	d.post(func() {
		switch e.Kind {
		case supervise.EventReady:
			if r := d.rolls[e.Service]; r != nil && r.ready == 0 && (r.binary == "" || e.Binary == r.binary) {
				r.ready = e.Delay
			}
			if fresh && d.failed[e.Service] == "" && !d.building {
				d.setStale(e.Service, "") // the proxy has it already; this is the record
			}
		case supervise.EventCrashed:
			// Its last lines are on the screen already.
			d.ui.Error("%s.%d crashed (%s); restarting in %s (restart %d)", e.Service, e.Worker, e.Reason, e.Delay, e.Restarts)
		case supervise.EventStartFailed:
			d.ui.Error("%s.%d did not start: %s; trying again in %s", e.Service, e.Worker, e.Reason, e.Delay)
		case supervise.EventStaleKilled, supervise.EventWarning:
			d.ui.Warn("%s", e)
		case supervise.EventScaled, supervise.EventAdded, supervise.EventRemoved:
			d.ui.Info("%s", e)
		}
	})
}

// freshWhenReady makes the first worker of service ready with binary clear
// its X-Toil-Stale mark ("" disarms it); d.mu is held.
func (d *dev) freshWhenReady(service, binary string) {
	d.readyMu.Lock()
	defer d.readyMu.Unlock()
	if binary == "" {
		delete(d.freshOn, service)
	} else {
		d.freshOn[service] = binary
	}
}

// clearOnReady clears service's X-Toil-Stale mark at once if a worker
// ready with binary ends it (see freshWhenReady), and reports whether it
// did. It runs on the supervisor's event goroutine, not the loop: the new
// worker serves as soon as it is ready, and the loop may be busy, so
// waiting for it would let the new code's first responses carry the mark.
func (d *dev) clearOnReady(service, binary string) bool {
	d.readyMu.Lock()
	defer d.readyMu.Unlock()
	if b, ok := d.freshOn[service]; !ok || b != binary {
		return false
	}
	delete(d.freshOn, service)
	// Under readyMu: a build starting now disarms first, then marks the
	// service stale again, after this.
	d.proxy.SetStale(service, "")
	return true
}

// setStale sets or clears service's X-Toil-Stale reason. It always tells
// the proxy, which clearOnReady may have cleared behind d.stale's back.
func (d *dev) setStale(service, reason string) {
	if reason == "" {
		delete(d.stale, service)
	} else {
		d.stale[service] = reason
	}
	d.proxy.SetStale(service, reason)
}
