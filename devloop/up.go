package devloop

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/toilhq/toil/devloop/backing"
	"github.com/toilhq/toil/devloop/proxy"
	"github.com/toilhq/toil/devloop/supervise"
	"github.com/toilhq/toil/devloop/ui"
	"github.com/toilhq/toil/export"
	"github.com/toilhq/toil/internal/runner"
	"github.com/toilhq/toil/layout"
)

// UpDir is where toil up keeps its files under the module root: worker
// records, backing systems' data, the control socket. It is apart from
// DevDir so that toil dev and toil up never share a supervisor lock.
const UpDir = ".toil/up"

// UpOptions configure Up.
type UpOptions struct {
	// Dir is where toil.yaml is looked for (layout.Find); the working
	// directory when empty.
	Dir string
	// BinDir holds the binaries `toil build` wrote, named
	// export.BinaryName; relative to the layout's directory.
	BinDir string
	// UI shows what happens. Required.
	UI *ui.UI
	// Environ is the workers' and backing commands' environment; nil
	// means toil's own.
	Environ []string
	// Shim starts workers that inherit a socket; nil means this
	// executable's `__shim`.
	Shim []string
	// Hangup, when it receives, re-reads toil.yaml (applied as toil dev
	// applies a change) and SIGHUPs every worker, which reloads its config.
	Hangup <-chan struct{}
	// OnReady, when set, is called once every worker is ready and the
	// control socket answers.
	OnReady func(proxyAddr string)
}

// Up runs the layout from built binaries, without watching or building:
// the single-machine production supervisor. It returns when ctx is done,
// after stopping everything it started.
func Up(ctx context.Context, opts UpOptions) (err error) {
	if opts.UI == nil {
		return errors.New("devloop: UpOptions.UI is required")
	}
	if opts.Environ == nil {
		opts.Environ = os.Environ()
	}
	dir := opts.Dir
	if dir == "" {
		if dir, err = os.Getwd(); err != nil {
			return fmt.Errorf("find the working directory: %w", err)
		}
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
	u := &up{opts: opts, ui: opts.UI, path: path, lay: lay, upDir: filepath.Join(mod.Root, filepath.FromSlash(UpDir))}
	return u.run(ctx)
}

type up struct {
	opts  UpOptions
	ui    *ui.UI
	path  string
	upDir string

	backing *backing.Set
	sup     *supervise.Supervisor
	proxy   *proxy.Proxy

	// mu serializes what changes the running system: a reload, an apply.
	mu  sync.Mutex
	lay *layout.Layout
}

// binaries finds every service's binary in BinDir, or says which are
// missing and how to get them.
func (u *up) binaries(lay *layout.Layout) (map[string]string, error) {
	binDir := u.opts.BinDir
	if binDir == "" {
		binDir = "bin"
	}
	binDir = lay.Path(binDir)
	out := map[string]string{}
	var missing []string
	for _, s := range lay.Services {
		p := filepath.Join(binDir, export.BinaryName(lay, s))
		if st, err := os.Stat(p); err != nil || st.IsDir() || st.Mode()&0o111 == 0 {
			missing = append(missing, p)
			continue
		}
		out[s.Name] = p
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("no binary for %s; run toil build --out %s first", strings.Join(missing, ", "), binDir)
	}
	return out, nil
}

func (u *up) run(ctx context.Context) (err error) {
	lay := u.lay
	bins, err := u.binaries(lay)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(u.upDir, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", u.upDir, err)
	}
	sock := filepath.Join(u.upDir, ControlSocket)
	if c, err := net.Dial("unix", sock); err == nil {
		c.Close()
		return fmt.Errorf("toil up already runs here (its control socket %s answers); stop it first", sock)
	}
	u.ui.SetServices(names(lay), procs(lay))
	u.ui.SetBacking(backingNames(lay))
	u.ui.Info("toil up: %s from %s", describe(lay), relPath(u.path))

	u.backing, err = backing.Start(ctx, lay, backing.Options{
		Dir:     filepath.Join(u.upDir, "backing"),
		Environ: u.opts.Environ,
		Log:     func(l backing.Line) { u.ui.BackingLine(l.Backing, l.Text) },
	})
	if err != nil {
		return err
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if berr := u.backing.Stop(sctx); berr != nil && err == nil {
			err = berr
		}
	}()

	u.proxy = proxy.New(proxyOptions(lay))
	proxyAddr := ""
	if lay.Proxy != nil {
		stop, addr, err := u.startProxy(lay)
		if err != nil {
			return err
		}
		defer stop()
		proxyAddr = addr
	}

	u.sup, err = supervise.New(supervise.Options{
		Layout:   u.withBacking(lay),
		Env:      "prod",
		Environ:  u.opts.Environ,
		Shim:     u.opts.Shim,
		StateDir: u.upDir,
		Log:      func(l supervise.Line) { u.ui.WorkerLine(l.Service, l.ID(), l.Text) },
		OnEvent:  u.event,
		OnBackends: func(service string, bs []supervise.Backend) {
			pb := make([]proxy.Backend, len(bs))
			for i, b := range bs {
				pb[i] = proxy.Backend{ID: b.ID, Addr: b.Addr}
			}
			_ = u.proxy.SetBackends(service, pb)
		},
	})
	if err != nil {
		return err
	}
	defer func() {
		u.ui.Info("stopping the workers")
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if serr := u.sup.Stop(sctx); serr != nil && err == nil {
			err = fmt.Errorf("stop workers: %w", serr)
		}
	}()
	if err := u.sup.Start(ctx, bins); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	if err := u.sup.WaitReady(ctx); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}

	ctl, err := u.listenControl(ctx, sock)
	if err != nil {
		return err
	}
	defer ctl.close()
	u.ui.Info("ready")
	if u.opts.OnReady != nil {
		u.opts.OnReady(proxyAddr)
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-u.opts.Hangup:
			u.hangup(ctx)
		}
	}
}

// withBacking is lay with the backing systems' variables under its env,
// as the supervisor runs it.
func (u *up) withBacking(lay *layout.Layout) *layout.Layout {
	l := *lay
	env := layout.Env{}
	maps.Copy(env, u.backing.Env())
	for k, v := range lay.Env {
		env[k] = v
	}
	l.Env = env
	return &l
}

// hangup re-reads toil.yaml and applies it, then SIGHUPs every worker: an
// invalid file or a missing binary keeps the running layout.
func (u *up) hangup(ctx context.Context) {
	u.mu.Lock()
	defer u.mu.Unlock()
	nl, err := layout.Load(u.path)
	if err != nil {
		u.ui.Error("SIGHUP: %s is invalid; still running the previous layout:\n%v", relPath(u.path), err)
		return
	}
	if c := layout.Diff(u.lay, nl); !c.Empty() {
		bins, err := u.binaries(nl)
		if err != nil {
			u.ui.Error("SIGHUP: %v; still running the previous layout", err)
			return
		}
		u.ui.Info("SIGHUP: %s changed:\n%s", relPath(u.path), strings.TrimRight(c.String(), "\n"))
		if _, err := u.backing.Apply(ctx, nl); err != nil {
			u.ui.Error("SIGHUP: %v", err)
		}
		if c.Proxy != nil && nl.Proxy != nil {
			routes := make([]proxy.Route, 0, len(nl.Proxy.Routes))
			for _, r := range nl.Proxy.Routes {
				routes = append(routes, proxy.Route{Path: r.Path, Service: r.To, StripPrefix: r.StripPrefix})
			}
			if err := u.proxy.SetRoutes(routes); err != nil {
				u.ui.Error("SIGHUP: proxy routes: %v", err)
			}
		}
		if err := u.sup.Apply(ctx, u.withBacking(nl), bins); err != nil {
			u.ui.Error("SIGHUP: apply %s: %v", relPath(u.path), err)
			return
		}
		u.lay = nl
	}
	for _, s := range u.lay.Services {
		if err := u.sup.Reload(s.Name); err != nil {
			u.ui.Error("SIGHUP: reload %s: %v", s.Name, err)
		}
	}
	u.ui.Info("SIGHUP: workers told to reload their config")
}

// rollAll replaces every worker, one at a time, each after its successor
// is ready: uWSGI's chain reload, for new binaries from toil build.
func (u *up) rollAll(ctx context.Context) error {
	u.mu.Lock()
	defer u.mu.Unlock()
	// The binaries' paths are the same; their content is what changed.
	if _, err := u.binaries(u.lay); err != nil {
		return err
	}
	start := time.Now()
	u.ui.Info("reload: replacing every worker, one at a time")
	if err := u.sup.RollAll(ctx); err != nil {
		return err
	}
	u.ui.Info("reload: done in %s", seconds(time.Since(start)))
	return nil
}

func (u *up) startProxy(lay *layout.Layout) (stop func(), addr string, err error) {
	la := lay.Proxy.Listen.Addr
	if lay.Proxy.Listen.Network == "unix" {
		la = lay.Path(la)
	}
	ln, err := net.Listen(lay.Proxy.Listen.Network, la)
	if err != nil {
		return nil, "", fmt.Errorf("%s:%d: proxy.listen %s: %w; pick another address, or stop what uses it", relPath(lay.File), lay.Proxy.Pos.Line, lay.Proxy.Listen, err)
	}
	routes := make([]proxy.Route, 0, len(lay.Proxy.Routes))
	for _, r := range lay.Proxy.Routes {
		routes = append(routes, proxy.Route{Path: r.Path, Service: r.To, StripPrefix: r.StripPrefix})
	}
	if err := u.proxy.SetRoutes(routes); err != nil {
		ln.Close()
		return nil, "", err
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = u.proxy.Serve(ctx, ln)
	}()
	u.ui.Info("proxy on %s", ln.Addr())
	return func() { cancel(); <-done }, ln.Addr().String(), nil
}

func (u *up) event(e supervise.Event) {
	switch e.Kind {
	case supervise.EventCrashed, supervise.EventStartFailed, supervise.EventRollFailed:
		u.ui.Error("%s", e.String())
	case supervise.EventWarning, supervise.EventStaleKilled:
		u.ui.Warn("%s", e.String())
	case supervise.EventReady, supervise.EventRollDone, supervise.EventReloaded,
		supervise.EventScaled, supervise.EventAdded, supervise.EventRemoved:
		u.ui.Info("%s", e.String())
	}
}

// upControl serves toil up's control socket: HTTP over a unix socket in
// UpDir, only for the user who runs toil up.
type upControl struct {
	srv  *http.Server
	sock string
	done chan struct{}
}

func (u *up) listenControl(ctx context.Context, sock string) (*upControl, error) {
	// A socket left by a killed toil up: nothing answered on it.
	if err := os.Remove(sock); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("remove the old control socket: %w", err)
	}
	ln, err := net.Listen("unix", sock)
	if err != nil {
		return nil, fmt.Errorf("control socket: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /reload", func(w http.ResponseWriter, r *http.Request) {
		// The roll runs under toil up's context: a client that goes away
		// does not stop it half way.
		if err := u.rollAll(ctx); err != nil {
			http.Error(w, err.Error(), http.StatusConflict)
			return
		}
		fmt.Fprintln(w, "every worker replaced")
	})
	c := &upControl{srv: &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}, sock: sock, done: make(chan struct{})}
	go func() {
		defer close(c.done)
		_ = c.srv.Serve(ln)
	}()
	return c, nil
}

// close stops serving once a reload still running has answered (toil up's
// context is done by then, so it ends soon): the workers are stopped only
// after.
func (c *upControl) close() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_ = c.srv.Shutdown(ctx)
	_ = c.srv.Close()
	<-c.done
	_ = os.Remove(c.sock)
}

// UpReload asks the toil up running for the toil.yaml found from dir to
// replace every worker, one at a time, and waits until it has. It returns
// what toil up answered.
func UpReload(ctx context.Context, dir string) (string, error) {
	path, err := layout.Find(dir)
	if err != nil {
		return "", err
	}
	mod, err := runner.FindModule(filepath.Dir(path))
	if err != nil {
		return "", fmt.Errorf("find the Go module of %s: %w", path, err)
	}
	sock := filepath.Join(mod.Root, filepath.FromSlash(UpDir), ControlSocket)
	hc := &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", sock)
		},
	}}
	defer hc.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://toil-up/reload", nil)
	if err != nil {
		return "", err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return "", fmt.Errorf("no toil up answers on %s (%w); start one with toil up", sock, err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	if _, err := io.Copy(&b, resp.Body); err != nil {
		return "", fmt.Errorf("read toil up's answer: %w", err)
	}
	msg := strings.TrimSpace(b.String())
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("toil up reload: %s", msg)
	}
	return msg, nil
}
