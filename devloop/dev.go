package devloop

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/toilhq/toil/devloop/backing"
	"github.com/toilhq/toil/devloop/build"
	"github.com/toilhq/toil/devloop/proxy"
	"github.com/toilhq/toil/devloop/supervise"
	"github.com/toilhq/toil/devloop/ui"
	"github.com/toilhq/toil/devloop/watch"
	"github.com/toilhq/toil/internal/runner"
	"github.com/toilhq/toil/layout"
)

// Options configure Run.
type Options struct {
	// Dir is where toil.yaml is looked for (layout.Find): in Dir or a
	// parent up to the module root. Empty means the working directory.
	Dir string
	// UI shows what happens. Required.
	UI *ui.UI
	// Environ is the environment of the workers, the backing commands and
	// the go command; nil means toil's own.
	Environ []string
	// Shim starts workers that inherit a socket (supervise.Options.Shim);
	// nil means this executable's `__shim`.
	Shim []string
	// BuildFlags are more go build flags (-race, -tags=dev); Debug keeps
	// DWARF and symbols in the binaries, for a debugger.
	BuildFlags []string
	Debug      bool
	// Debounce is the watcher's quiet time after a change (zero: the
	// layout's default, 75ms).
	Debounce time.Duration
	// Kill, when closed, cuts the graceful stop short: the workers still
	// running are killed at once (a second Ctrl-C).
	Kill <-chan struct{}
	// OnReady, when set, is called once every service that built has its
	// workers started and the control socket answers: for tests and
	// benchmarks.
	OnReady func()
}

// DevDir is the directory under the module root where toil dev keeps its
// files: binaries, worker records, backing systems' data, the control
// socket. .toil/ is never watched.
const DevDir = ".toil/dev"

// ControlSocket is the control socket's name in DevDir.
const ControlSocket = "control.sock"

// Run runs toil dev until ctx is done, then stops everything it started
// and returns. Errors are what keeps it from starting: a missing or invalid
// toil.yaml, a port in use, a backing system that does not start, another
// toil dev running in the same module. Build errors are not errors: they
// are shown, and toil dev waits for the fix.
func Run(ctx context.Context, opts Options) error {
	if opts.UI == nil {
		return errors.New("devloop: Options.UI is required")
	}
	if opts.Environ == nil {
		opts.Environ = os.Environ()
	}
	dir := opts.Dir
	if dir == "" {
		wd, err := os.Getwd()
		if err != nil {
			return fmt.Errorf("find the working directory: %w", err)
		}
		dir = wd
	}
	path, err := layout.Find(dir)
	if err != nil {
		return err
	}
	lay, err := layout.Load(path)
	if err != nil {
		return err
	}
	mod, err := runner.FindModule(lay.Dir)
	if err != nil {
		return fmt.Errorf("find the Go module of %s: %w", path, err)
	}
	d := &dev{
		opts:     opts,
		ui:       opts.UI,
		path:     path,
		mod:      mod,
		devDir:   filepath.Join(mod.Root, filepath.FromSlash(DevDir)),
		desired:  lay,
		binaries: map[string]string{},
		failed:   map[string]string{},
		scale:    map[string]int{},
		rolls:    map[string]*roll{},
		rollErr:  map[string]string{},
		shownErr: map[string]string{},
		logs:     newLogs(),
		inbox:    newInbox(),
	}
	return d.run(ctx)
}

// dev is one toil dev run. The loop goroutine owns its state; mu guards
// what the control socket reads.
type dev struct {
	// ctx is Run's: control requests start rollouts under it.
	ctx    context.Context
	opts   Options
	ui     *ui.UI
	path   string // toil.yaml
	mod    *runner.Module
	devDir string

	watcher *watch.Watcher
	builder *build.Builder
	backing *backing.Set
	sup     *supervise.Supervisor
	proxy   *proxy.Proxy
	logs    *logs
	inbox   *inbox

	// proxyStop stops the proxy's Serve; proxyAddr is where it listens.
	proxyStop func()
	proxyAddr string

	// wg counts the goroutines started for builds, rolls and applies; the
	// loop waits for them before stopping the supervisor.
	wg sync.WaitGroup

	mu sync.Mutex
	// desired is the last valid toil.yaml; layoutErr the errors of the
	// file on disk when it is invalid.
	desired   *layout.Layout
	layoutErr string
	// binaries is each service's newest good binary; failed the compiler
	// output of each service whose newest source does not build.
	binaries map[string]string
	failed   map[string]string
	// scale holds `toil dev scale` overrides of procs.
	scale map[string]int
	// building is true while a build runs.
	building bool
	// rolls are the rollouts running, by service; rollErr the last failed
	// rollout's reason, until a rollout of the service succeeds.
	rolls   map[string]*roll
	rollErr map[string]string
	// stale is why each service's responses carry X-Toil-Stale.
	stale map[string]string
	// readyMu guards freshOn, read on the supervisor's event goroutine
	// (see clearOnReady), which must not wait for mu.
	readyMu sync.Mutex
	// freshOn holds, per service rolling onto the newest source, the
	// binary whose first ready worker ends its staleness.
	freshOn map[string]string
	// shownErr is the build output last shown per service, not to show
	// the same errors on every save.
	shownErr map[string]string
	// pendingFirst is the earliest save the running build serves;
	// applyPending says the build follows a toil.yaml change.
	pendingFirst time.Time
	applyPending bool
	// applied is the layout last given to the supervisor.
	applied *layout.Layout
}

func (d *dev) run(ctx context.Context) (err error) {
	d.ctx = ctx
	lay := d.desired
	if err := os.MkdirAll(d.devDir, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", d.devDir, err)
	}
	sock := filepath.Join(d.devDir, ControlSocket)
	if c, err := dialControl(sock); err == nil {
		c.Close()
		return fmt.Errorf("toil dev already runs in %s (its control socket %s answers); use toil dev status, or stop it first", d.mod.Root, sock)
	}
	d.ui.SetServices(names(lay), procs(lay))
	d.ui.SetBacking(backingNames(lay))
	d.ui.Info("toil dev: %s from %s", describe(lay), relPath(d.path))

	// The watcher starts first: a file saved while the first build runs
	// is built next.
	w, err := watch.New(d.mod.Root, watch.Options{
		Debounce:    d.opts.Debounce,
		LayoutFile:  d.path,
		ConfigFiles: configFiles(lay),
	})
	if err != nil {
		return err
	}
	d.watcher = w
	wctx, wcancel := context.WithCancel(context.WithoutCancel(ctx))
	wdone := make(chan error, 1)
	go func() { wdone <- w.Run(wctx) }()
	defer func() {
		wcancel()
		if werr := <-wdone; werr != nil && err == nil {
			err = werr
		}
	}()

	// Backing systems, before anything uses them.
	if len(lay.Backing) > 0 {
		d.ui.Info("starting %s", plural(len(lay.Backing), "backing system"))
	}
	d.backing, err = backing.Start(ctx, lay, backing.Options{
		Dir:     filepath.Join(d.devDir, "backing"),
		Environ: d.opts.Environ,
		Log:     func(l backing.Line) { d.logs.add(l.Backing, "", l.Text); d.ui.BackingLine(l.Backing, l.Text) },
		OnEvent: d.backingEvent,
	})
	if err != nil {
		return err
	}
	defer func() {
		sctx, cancel := d.stopContext(30 * time.Second)
		defer cancel()
		if berr := d.backing.Stop(sctx); berr != nil && err == nil {
			err = berr
		}
	}()

	// The proxy answers from now on: 503 "starting" pages until the
	// workers serve.
	d.proxy = proxy.New(proxyOptions(lay))
	d.stale = map[string]string{}
	d.freshOn = map[string]string{}
	if lay.Proxy != nil {
		for _, s := range lay.Services {
			d.proxy.SetStarting(s.Name, true)
		}
		if err := d.startProxy(lay); err != nil {
			return err
		}
		defer d.stopProxy()
	}

	d.builder, err = build.New(d.mod, lay, d.buildOptions())
	if err != nil {
		return err
	}
	d.ui.Info("building %s", plural(len(lay.Services), "service"))
	res, err := d.builder.Build(ctx, build.Reason{})
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("build: %w", err)
	}
	d.firstBuild(res)

	d.applied = d.effective()
	d.sup, err = supervise.New(supervise.Options{
		Layout:     d.applied,
		Environ:    d.opts.Environ,
		Shim:       d.opts.Shim,
		StateDir:   d.devDir,
		Log:        d.workerLine,
		OnEvent:    d.supEvent,
		OnBackends: d.setBackends,
	})
	if err != nil {
		return err
	}
	defer func() {
		if serr := d.stopSupervisor(); serr != nil && err == nil {
			err = serr
		}
	}()
	if err := d.sup.Start(ctx, d.built()); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	for _, s := range lay.Services {
		if d.binaries[s.Name] != "" {
			d.proxy.SetStarting(s.Name, false)
		}
	}

	ctl, err := d.listenControl(sock)
	if err != nil {
		return err
	}
	defer ctl.close()
	d.refresh()
	if d.opts.OnReady != nil {
		d.opts.OnReady()
	}
	d.loop(ctx)
	return nil
}

// stopSupervisor waits for the builds, rolls and applies still running
// (their contexts are done), then stops every worker.
func (d *dev) stopSupervisor() error {
	n := 0
	for _, st := range d.sup.Status() {
		n += len(st.Workers)
	}
	d.ui.Info("stopping %s", plural(n, "worker"))
	sctx, cancel := d.stopContext(0)
	defer cancel()
	err := d.sup.Stop(sctx)
	d.wg.Wait()
	if err != nil {
		return fmt.Errorf("stop workers: %w", err)
	}
	return nil
}

// stopContext bounds a stop: done when Options.Kill closes, or after limit
// when it is not zero.
func (d *dev) stopContext(limit time.Duration) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.Background())
	if limit > 0 {
		ctx, cancel = context.WithTimeout(context.Background(), limit)
	}
	if d.opts.Kill != nil {
		// Ends when the stop is over (cancel) or cut short.
		go func() {
			select {
			case <-d.opts.Kill:
				cancel()
			case <-ctx.Done():
			}
		}()
	}
	return ctx, cancel
}

func (d *dev) buildOptions() build.Options {
	return build.Options{Env: d.opts.Environ, Flags: d.opts.BuildFlags, Debug: d.opts.Debug}
}

// firstBuild records the first build's binaries and failures.
func (d *dev) firstBuild(res *build.Result) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, s := range res.Services {
		switch {
		case s.State == build.Failed:
			d.failed[s.Name] = s.Output
		case s.Binary != "":
			d.binaries[s.Name] = s.Binary
		}
	}
	d.showBuild(res, nil)
	if len(d.failed) == 0 {
		d.ui.Info("built in %s", seconds(res.Duration))
	}
}

// effective is the layout the supervisor runs: the services that have a
// binary, with their scale overrides, and the backing systems' variables
// under the layout's env.
func (d *dev) effective() *layout.Layout {
	l := *d.desired
	l.Services = nil
	for _, s := range d.desired.Services {
		if d.binaries[s.Name] == "" {
			continue
		}
		if n, ok := d.scale[s.Name]; ok && n != s.Procs {
			c := *s
			c.Procs = n
			s = &c
		}
		if d.hupsConfig(s) {
			// toil dev SIGHUPs the workers when their config file changes;
			// their own watch of it would apply each save a second time.
			c := *s
			c.Env = layout.Env{}
			maps.Copy(c.Env, s.Env)
			c.Env[configWatchEnv] = "off"
			s = &c
		}
		l.Services = append(l.Services, s)
	}
	env := layout.Env{}
	if d.backing != nil {
		env = d.backing.Env()
	}
	for k, v := range d.desired.Env {
		env[k] = v
	}
	l.Env = env
	return &l
}

// configWatchEnv turns a toil worker's own watch of its config file off
// (see the root package's reload.go): SIGHUP alone reloads it.
const configWatchEnv = "TOIL_CONFIG_WATCH"

// hupsConfig reports whether s is a toil service whose config file, as its
// workers find it (--config in args:, else TOIL_CONFIG, else
// toil.config.yaml in the layout's directory, their working directory),
// is one toil dev watches and SIGHUPs them for. Those workers need no
// watch of their own; any other keeps it, or its edits would go unseen.
func (d *dev) hupsConfig(s *layout.Service) bool {
	if !s.Toil() {
		return false
	}
	path := ""
	for i, a := range s.Args {
		if v, ok := strings.CutPrefix(a, "--config="); ok {
			path = v
		} else if a == "--config" && i+1 < len(s.Args) {
			path = s.Args[i+1]
		}
	}
	if path == "" {
		env := layout.Env{}
		for _, kv := range d.opts.Environ {
			if k, v, ok := strings.Cut(kv, "="); ok {
				env[k] = v
			}
		}
		maps.Copy(env, d.desired.ServiceEnv(s))
		path = env["TOIL_CONFIG"]
	}
	if path == "" {
		path = "toil.config.yaml"
	}
	abs := d.desired.Path(path)
	base := filepath.Base(abs)
	isConfig := filepath.Dir(abs) == d.mod.Root && strings.HasPrefix(base, "toil.config.") &&
		slices.Contains([]string{".yaml", ".yml", ".json", ".toml"}, filepath.Ext(base))
	return slices.Contains(d.configOf(abs, isConfig), s.Name)
}

// built is the binary of every service that has one.
func (d *dev) built() map[string]string {
	out := map[string]string{}
	for k, v := range d.binaries {
		out[k] = v
	}
	return out
}

func (d *dev) startProxy(lay *layout.Layout) error {
	addr := lay.Proxy.Listen.Addr
	if lay.Proxy.Listen.Network == "unix" {
		addr = lay.Path(addr)
	}
	ln, err := net.Listen(lay.Proxy.Listen.Network, addr)
	if err != nil {
		return fmt.Errorf("%s:%d: proxy.listen %s: %w; pick another address, or stop what uses it", relPath(lay.File), lay.Proxy.Pos.Line, lay.Proxy.Listen, err)
	}
	routes := make([]proxy.Route, 0, len(lay.Proxy.Routes))
	for _, r := range lay.Proxy.Routes {
		routes = append(routes, proxy.Route{Path: r.Path, Service: r.To, StripPrefix: r.StripPrefix})
	}
	if err := d.proxy.SetRoutes(routes); err != nil {
		ln.Close()
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = d.proxy.Serve(ctx, ln)
	}()
	d.proxyStop = func() { cancel(); <-done }
	d.proxyAddr = ln.Addr().String()
	if lay.Proxy.Listen.Network == "tcp" {
		d.ui.Info("proxy on http://%s", d.proxyAddr)
	} else {
		d.ui.Info("proxy on unix:%s", d.proxyAddr)
	}
	return nil
}

func (d *dev) stopProxy() {
	if d.proxyStop != nil {
		d.proxyStop()
		d.proxyStop = nil
	}
}

func proxyOptions(lay *layout.Layout) proxy.Options {
	if lay.Proxy == nil {
		return proxy.Options{}
	}
	return proxy.Options{
		ConnectTimeout: lay.Proxy.ConnectTimeout,
		ReadTimeout:    lay.Proxy.ReadTimeout,
		WriteTimeout:   lay.Proxy.WriteTimeout,
		IdleTimeout:    lay.Proxy.IdleTimeout,
		// toil dev stops with Ctrl-C: a browser's open stream does not
		// hold it up.
		ShutdownTimeout: time.Second,
	}
}

// setBackends hands the supervisor's backends to the proxy.
func (d *dev) setBackends(service string, bs []supervise.Backend) {
	pb := make([]proxy.Backend, len(bs))
	for i, b := range bs {
		pb[i] = proxy.Backend{ID: b.ID, Addr: b.Addr}
	}
	_ = d.proxy.SetBackends(service, pb)
}

func (d *dev) workerLine(l supervise.Line) {
	id := l.ID()
	d.logs.add(l.Service, id, l.Text)
	d.ui.WorkerLine(l.Service, id, l.Text)
}

func (d *dev) backingEvent(e backing.Event) {
	switch e.Kind {
	case backing.EventWarning:
		d.ui.Warn("%s: %s", e.Backing, e.Reason)
	case backing.EventReady:
		d.ui.Info("%s ready %s (%s)", e.Backing, e.Reason, seconds(e.Delay))
	case backing.EventExited:
		d.ui.Error("backing system %s exited (%s); restarting it on the same port in %s", e.Backing, e.Reason, e.Delay)
	case backing.EventRestarted:
		d.ui.Info("%s restarted %s, pid %d (restart %d, %s)", e.Backing, e.Reason, e.PID, e.Restarts, seconds(e.Delay))
	case backing.EventRestartFailed:
		d.ui.Error("backing system %s did not restart: %s; trying again in %s", e.Backing, e.Reason, e.Delay)
	}
}

func names(l *layout.Layout) []string {
	out := make([]string, len(l.Services))
	for i, s := range l.Services {
		out[i] = s.Name
	}
	return out
}

func procs(l *layout.Layout) []int {
	out := make([]int, len(l.Services))
	for i, s := range l.Services {
		out[i] = s.Procs
	}
	return out
}

func backingNames(l *layout.Layout) []string {
	out := make([]string, len(l.Backing))
	for i, b := range l.Backing {
		out[i] = b.Name
	}
	return out
}

// configFiles are every service's config: files, for the watcher.
func configFiles(l *layout.Layout) []string {
	var out []string
	for _, s := range l.Services {
		for _, c := range s.Config {
			if p := l.Path(c); !slices.Contains(out, p) {
				out = append(out, p)
			}
		}
	}
	return out
}

// describe is "app: web ×2, worker ×1".
func describe(l *layout.Layout) string {
	parts := make([]string, len(l.Services))
	for i, s := range l.Services {
		parts[i] = fmt.Sprintf("%s ×%d", s.Name, s.Procs)
	}
	return l.Name + ": " + strings.Join(parts, ", ")
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// relPath is p relative to the working directory when it is under it.
func relPath(p string) string {
	wd, err := os.Getwd()
	if err != nil {
		return p
	}
	if r, err := filepath.Rel(wd, p); err == nil && !strings.HasPrefix(r, "..") {
		return r
	}
	return p
}

func seconds(d time.Duration) string {
	if d < 100*time.Millisecond {
		return d.Round(time.Millisecond).String()
	}
	return fmt.Sprintf("%.2fs", d.Seconds())
}
