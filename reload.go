package toil

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"
)

// watchConfig watches the config file's directory, not the file: editors
// save by writing a new file and renaming it over the old one, and
// Kubernetes swaps a ..data symlink. Closing an inotify watcher takes tens
// of milliseconds, so the caller closes it after the stop, not during.
func (p *proc) watchConfig() (*fsnotify.Watcher, func()) {
	if p.configPath == "" {
		return nil, func() {}
	}
	w, err := fsnotify.NewWatcher()
	if err == nil {
		if err = w.Add(filepath.Dir(p.configPath)); err != nil {
			w.Close()
		}
	}
	if err != nil {
		p.log.Warn("not watching the config file; SIGHUP still reloads", "file", p.configPath, "err", err)
		return nil, func() {}
	}
	return w, func() { w.Close() }
}

// reloadLoop serves reload requests until ctx is done: SIGHUP (config and
// switches), Control.Reload, and changes to the config file seen by w.
func (p *proc) reloadLoop(ctx context.Context, w *fsnotify.Watcher) {
	var events <-chan fsnotify.Event
	var werrs <-chan error
	if w != nil {
		events, werrs = w.Events, w.Errors
	}
	var control <-chan reloadReq
	if p.o.control != nil {
		control = p.o.control.reloads
	}
	var quiet *time.Timer
	var fire <-chan time.Time
	if w != nil {
		// A change made between the load and the watch had no event: check
		// the file once, as if it had.
		quiet = time.NewTimer(p.o.debounce)
		fire = quiet.C
	}
	defer func() {
		if quiet != nil {
			quiet.Stop()
		}
	}()
	for {
		select {
		case <-ctx.Done():
			return
		case <-p.o.hup:
			p.reload(ctx, "SIGHUP")
			if p.swFile != "" {
				if err := p.sw.Reload(); err != nil {
					p.log.Error("switches reload rejected; keeping the old switches", "file", p.swFile, "err", err)
				}
			}
		case req := <-control:
			req.reply <- p.reload(req.ctx, "control")
		case ev := <-events:
			if filepath.Clean(ev.Name) != p.configPath && filepath.Base(ev.Name) != "..data" {
				continue
			}
			// One save is several events: reload once it has been quiet.
			if quiet == nil {
				quiet = time.NewTimer(p.o.debounce)
			} else {
				quiet.Reset(p.o.debounce)
			}
			fire = quiet.C
		case <-fire:
			fire = nil
			if data, err := os.ReadFile(p.configPath); err == nil && sha256.Sum256(data) == p.snap.file.hash() {
				continue // touched, or saved unchanged
			}
			p.reload(ctx, "file change")
		case err := <-werrs:
			p.log.Warn("config file watch", "err", err)
		}
	}
}

// reload loads the config afresh, validates it, asks the ConfigChanged
// hooks, and only then swaps it in. Any error keeps the old config.
func (p *proc) reload(ctx context.Context, trigger string) error {
	p.metric.reloads.Inc()
	p.send(reloading())
	defer p.send("READY=1")
	start := time.Now()
	changed, err := p.applyReload(ctx)
	if err != nil {
		p.metric.reloadErrors.Inc()
		p.metric.reloadSuccess.Set(0)
		p.log.Error("config reload rejected; keeping the old config", "trigger", trigger, "err", err)
		return err
	}
	p.metric.reloadSuccess.Set(1)
	if len(changed) == 0 {
		p.log.Info("config reloaded: nothing changed", "trigger", trigger)
		return nil
	}
	p.log.Info("config reloaded", "trigger", trigger, "changed", changed, "took", time.Since(start))
	return nil
}

func (p *proc) applyReload(ctx context.Context) ([]string, error) {
	snap, err := p.load()
	if err != nil {
		return nil, err
	}
	old := p.snap
	changed := changedKeys(old.section, snap.section)
	if p.typed != nil && reflect.DeepEqual(old.cfg, snap.cfg) && mixinsEqual(old.mixins, snap.mixins) {
		changed = nil // a default spelled out, a comment: nothing the service sees
	}
	if len(changed) == 0 {
		p.snap = snap
		return nil, nil
	}
	hctx, cancel := context.WithTimeout(ctx, p.setupTimeout)
	defer cancel()
	if p.typed != nil {
		if fn := p.typed.changer(p.svc); fn != nil && !reflect.DeepEqual(old.cfg, snap.cfg) {
			if _, err := p.hook(hctx, "reload", "service", "ConfigChanged", p.setupTimeout, func(ctx context.Context) error {
				return fn(ctx, old.cfg, snap.cfg)
			}); err != nil {
				return nil, err
			}
		}
		for i, m := range p.mixins {
			h, ok := m.ptr.(MixinConfigChanged)
			if !ok || mixinsEqual(old.mixins[i:i+1], snap.mixins[i:i+1]) {
				continue
			}
			if _, err := p.hook(hctx, "reload", m.target(), "ToilConfigChanged", p.setupTimeout, func(ctx context.Context) error {
				return h.ToilConfigChanged(ctx, old.mixins[i], snap.mixins[i])
			}); err != nil {
				return nil, err
			}
		}
		p.typed.store(snap.cfg)
		for _, m := range p.mixins {
			m.env.Values.k.Store(cutSection(snap.section, m.section))
		}
	}
	p.values.k.Store(snap.section.ko())
	p.snap = snap
	return changed, nil
}

// changedKeys lists the keys whose values differ, never the values: they
// may be secrets.
func changedKeys(a, b *Values) []string {
	am, bm := a.all(), b.all()
	var out []string
	for k, v := range am {
		if w, ok := bm[k]; !ok || !reflect.DeepEqual(v, w) {
			out = append(out, k)
		}
	}
	for k := range bm {
		if _, ok := am[k]; !ok {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

func mixinsEqual(a, b []any) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		av, aok := a[i].(*Values)
		bv, bok := b[i].(*Values)
		if aok && bok {
			if !reflect.DeepEqual(av.all(), bv.all()) {
				return false
			}
			continue
		}
		if !reflect.DeepEqual(a[i], b[i]) {
			return false
		}
	}
	return true
}

// Control lets the code that calls Run observe and steer the service: wait
// until it is ready, find its admin address, reload its config. toiltest
// is built on it. A Control serves one Run.
type Control struct {
	ready   chan struct{}
	done    chan struct{}
	reloads chan reloadReq

	started chan struct{} // closed once the admin listener is bound (or there is none)
	mu      sync.Mutex
	addr    string
	err     error
}

type reloadReq struct {
	ctx   context.Context
	reply chan error
}

// NewControl returns a Control to pass to Run with [WithControl].
func NewControl() *Control {
	return &Control{
		ready:   make(chan struct{}),
		done:    make(chan struct{}),
		reloads: make(chan reloadReq),
		started: make(chan struct{}),
	}
}

// Ready is closed once setup is done and the service is running (when it
// sends READY=1).
func (c *Control) Ready() <-chan struct{} { return c.ready }

// Done is closed when Run has returned.
func (c *Control) Done() <-chan struct{} { return c.done }

// Err returns what Run returned, once Done is closed.
func (c *Control) Err() error {
	<-c.done
	return c.err
}

// AdminAddr returns the admin listener's address (host:port), waiting
// until it is bound; "" if the run has none or ended first.
func (c *Control) AdminAddr() string {
	select {
	case <-c.started:
	case <-c.done:
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.addr
}

// Reload reloads the config now, as SIGHUP does, and returns why it was
// rejected, if it was. It waits until the service is running.
func (c *Control) Reload(ctx context.Context) error {
	req := reloadReq{ctx: ctx, reply: make(chan error, 1)}
	select {
	case c.reloads <- req:
	case <-c.done:
		return errors.New("reload: the service is not running")
	case <-ctx.Done():
		return fmt.Errorf("reload: %w", ctx.Err())
	}
	return <-req.reply
}

func (c *Control) start(adminAddr string) {
	c.mu.Lock()
	c.addr = adminAddr
	c.mu.Unlock()
	close(c.started)
}

func (c *Control) markReady() { close(c.ready) }

func (c *Control) finish(err error) {
	c.err = err
	close(c.done)
}
