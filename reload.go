package toil

import (
	"context"
	"crypto/sha256"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"time"

	"github.com/fsnotify/fsnotify"
)

// watchConfig watches the config file's directory, not the file: editors
// save by writing a new file and renaming it over the old one, and
// Kubernetes swaps a ..data symlink. Closing an inotify watcher takes tens
// of milliseconds, so the caller closes it after the stop, not during.
//
// TOIL_CONFIG_WATCH=off turns the watch off, SIGHUP alone reloading: toil
// dev sets it for the workers whose config file it watches and SIGHUPs
// them for, so that one save is not applied (and its errors logged) twice.
func (p *proc) watchConfig() (*fsnotify.Watcher, func()) {
	if p.configPath == "" {
		return nil, func() {}
	}
	if v, _ := p.o.lookupEnv("TOIL_CONFIG_WATCH"); v == "off" {
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
