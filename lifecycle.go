package toil

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unsafe"

	"github.com/knadh/koanf/v2"
)

// proc is one run of one service: everything Run sets up and tears down.
type proc struct {
	name   string
	worker int
	o      options
	log    *slog.Logger
	stats  *Stats
	metric *builtin
	sw     *Switches
	swFile string // the switches file being watched, "" if none

	svc   any
	fn    Func        // a function service
	typed typedConfig // a struct service's Base
	s     *S

	ownSchema *schema // the Cfg's keys (struct services)
	schema    *schema // every key flags and env may set; nil means any
	mixins    []*mixin

	flags      source
	configPath string
	snap       *snapshot
	values     *Values // the live section, S.Config

	sockets   *sockets
	notify    notifier
	readiness readiness
	adminAddr string

	setupTimeout time.Duration
	stopTimeout  time.Duration

	svcStarted bool // the service's Setup ran (or it has none): Stop it
}

// snapshot is one load of the config.
type snapshot struct {
	file       *configFile
	section    *Values // the merged section, untyped
	cfg        any     // *Cfg for struct services
	mixins     []any   // per mixin: its filled ToilConfig, or a *Values
	unknownEnv []string
}

// mixin is one field of a struct service that implements a mixin hook.
type mixin struct {
	field   string // "Redis"
	section string // "redis"
	ptr     any    // the field's address (or its pointer value)
	proto   func() any
	schema  *schema
	env     *MixinEnv
	started bool // its pre-setup ran (or it has none): stop it
}

func (m *mixin) target() string { return "field " + m.field }

// typedConfig is the non-generic face of a Base[Cfg].
type typedConfig interface {
	configType() reflect.Type
	fill(log *slog.Logger, stats *Stats, sw *Switches)
	validate(svc, cfg any) error
	changer(svc any) func(ctx context.Context, old, new any) error
	store(cfg any)
}

// binder is implemented by *Base[Cfg] and promoted to the struct embedding
// it: the one promoted method toil relies on, and unexported so no other
// type can have it.
type binder interface {
	bind(p *proc) typedConfig
}

func (b *Base[Cfg]) bind(p *proc) typedConfig {
	b.p = p
	return baseBinding[Cfg]{b}
}

type baseBinding[Cfg any] struct{ b *Base[Cfg] }

func (bb baseBinding[Cfg]) configType() reflect.Type { return reflect.TypeFor[Cfg]() }

func (bb baseBinding[Cfg]) fill(log *slog.Logger, stats *Stats, sw *Switches) {
	bb.b.Log, bb.b.Stats, bb.b.Switch = log, stats, sw
}

func (bb baseBinding[Cfg]) validate(svc, cfg any) error {
	c := cfg.(*Cfg)
	if v, ok := any(c).(interface{ Validate() error }); ok {
		if err := v.Validate(); err != nil {
			return err
		}
	}
	if v, ok := svc.(ConfigValidator[Cfg]); ok {
		return v.ValidateConfig(c)
	}
	return nil
}

func (bb baseBinding[Cfg]) changer(svc any) func(ctx context.Context, old, new any) error {
	h, ok := svc.(ConfigChanger[Cfg])
	if !ok {
		return nil
	}
	return func(ctx context.Context, old, new any) error { return h.ConfigChanged(ctx, old.(*Cfg), new.(*Cfg)) }
}

func (bb baseBinding[Cfg]) store(cfg any) { bb.b.cfg.Store(cfg.(*Cfg)) }

var (
	binderType  = reflect.TypeFor[binder]()
	mixinHooks  = []reflect.Type{reflect.TypeFor[MixinConfig](), reflect.TypeFor[MixinPreSetup](), reflect.TypeFor[MixinPostSetup](), reflect.TypeFor[MixinActors](), reflect.TypeFor[MixinStop](), reflect.TypeFor[MixinConfigChanged]()}
	handlerType = reflect.TypeFor[http.Handler]()
)

func isMixinType(t reflect.Type) bool {
	for _, h := range mixinHooks {
		if t.Implements(h) {
			return true
		}
	}
	return false
}

// findMixins walks a struct service's fields in declaration order,
// depth-first through embedded structs, skipping the embedded Base. It asks
// each field, never the service: hooks promoted from an embedded field to
// the service are not looked for on the service, so none runs twice.
func findMixins(v reflect.Value, prefix string) []*mixin {
	var out []*mixin
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		if f.Anonymous && reflect.PointerTo(f.Type).Implements(binderType) {
			continue
		}
		fv := v.Field(i)
		if !f.IsExported() {
			// Reach unexported fields as ServiceWeaver does: a mixin field
			// need not be exported to be managed.
			fv = reflect.NewAt(fv.Type(), unsafe.Pointer(fv.UnsafeAddr())).Elem()
		}
		var target reflect.Value
		if f.Type.Kind() == reflect.Pointer {
			if fv.IsNil() {
				if !isMixinType(f.Type) {
					continue
				}
				fv.Set(reflect.New(f.Type.Elem()))
			}
			target = fv
		} else {
			target = fv.Addr()
		}
		if isMixinType(target.Type()) {
			section, _ := fieldKey(f)
			out = append(out, &mixin{field: prefix + f.Name, section: section, ptr: target.Interface()})
			continue
		}
		if f.Anonymous && target.Elem().Kind() == reflect.Struct {
			out = append(out, findMixins(target.Elem(), prefix+f.Name+".")...)
		}
	}
	return out
}

func newProc(name string, svc any, o options) (*proc, error) {
	p := &proc{name: name, o: o, svc: svc, worker: 1}
	if w, ok := o.lookupEnv("TOIL_WORKER"); ok && w != "" {
		n, err := strconv.Atoi(w)
		if err != nil || n < 1 {
			return nil, usagef("TOIL_WORKER=%q: want a worker number from 1", w)
		}
		p.worker = n
	}
	log, err := newLogger(o, name, p.worker)
	if err != nil {
		return nil, err
	}
	p.log = log
	p.stats = NewStats()
	p.stats.log = log
	p.metric = newBuiltin(p.stats, name, p.worker)
	p.metric.setState("starting")
	p.readiness.set("starting")
	p.sockets = &sockets{lookupEnv: o.lookupEnv}

	switch f := svc.(type) {
	case Func:
		p.fn = f
	case func(context.Context, *S) error:
		p.fn = f
	case binder:
		if err := p.bindStruct(f); err != nil {
			return nil, err
		}
	default:
		return nil, usagef("service %s is %T; a service is a func(context.Context, *toil.S) error or a pointer to a struct embedding toil.Base", name, svc)
	}

	var config string
	p.flags, config, err = flagSource(name, p.schema, o.args)
	if errors.Is(err, errHelp) {
		var mixins []*mixin
		if p.typed != nil {
			mixins = p.mixins
		}
		fmt.Fprint(o.stdout, usageText(name, p.ownSchemaForHelp(), mixins))
		return nil, errHelp
	}
	if err != nil {
		return nil, err
	}
	if err := p.findConfigFile(config); err != nil {
		return nil, err
	}
	if p.snap, err = p.load(); err != nil {
		return nil, err
	}
	set, err := readSettings(p.snap.file, o.lookupEnv)
	if err != nil {
		return nil, err
	}
	p.setupTimeout = firstPositive(o.setupTimeout, set.setupTimeout, 15*time.Second)
	p.stopTimeout = firstPositive(o.stopTimeout, set.stopTimeout, 15*time.Second)
	if err := p.openSwitches(set.switches); err != nil {
		return nil, err
	}
	if addr, ok := o.lookupEnv("NOTIFY_SOCKET"); ok {
		p.notify = notifier{addr: addr}
	}
	if o.processEnv {
		list, err := inheritedSockets()
		if err != nil {
			return nil, err
		}
		p.sockets.list = list
	}
	for name, ln := range o.listeners {
		p.sockets.list = append(p.sockets.list, &socket{name: name, ln: ln})
	}

	p.values = p.snap.section
	if p.typed != nil {
		p.typed.fill(log, p.stats, p.sw)
		p.typed.store(p.snap.cfg)
		for i, m := range p.mixins {
			m.env = &MixinEnv{
				Service: name, Worker: p.worker, Field: m.field, Section: m.section,
				Log: log.With("mixin", m.field), Stats: p.stats, Switch: p.sw, Owner: svc,
				Values: newValues(cutSection(p.values, m.section)), p: p,
			}
			if m.proto != nil {
				m.env.Config = p.snap.mixins[i]
			}
		}
	} else {
		p.s = &S{Name: name, Worker: p.worker, Log: log, Stats: p.stats, Switch: p.sw, Config: p.values, p: p}
	}
	return p, nil
}

func (p *proc) ownSchemaForHelp() *schema {
	if p.typed == nil {
		return nil
	}
	return p.schema
}

func firstPositive(ds ...time.Duration) time.Duration {
	for _, d := range ds {
		if d > 0 {
			return d
		}
	}
	return 0
}

// bindStruct learns a struct service's config type and mixins.
func (p *proc) bindStruct(b binder) error {
	v := reflect.ValueOf(b)
	if v.Kind() != reflect.Pointer || v.IsNil() || v.Elem().Kind() != reflect.Struct {
		return usagef("service %s is %T; pass a pointer to the struct: &%s{}", p.name, b, v.Type().Elem())
	}
	p.typed = b.bind(p)
	cfgType := p.typed.configType()
	if cfgType.Kind() != reflect.Struct {
		return usagef("service %s: config type %s is not a struct", p.name, cfgType)
	}
	def, err := newDefaults(cfgType)
	if err != nil {
		return usagef("service %s: %v", p.name, err)
	}
	if p.ownSchema, err = schemaOf(cfgType, def); err != nil {
		return usagef("service %s: %v", p.name, err)
	}
	p.mixins = findMixins(v.Elem(), "")
	all := &schema{leaves: append([]leaf(nil), p.ownSchema.leaves...), open: append([]string(nil), p.ownSchema.open...)}
	for _, m := range p.mixins {
		if all.allows(m.section) || p.ownSchema.allows(m.section+".x") {
			return usagef("service %s: config key %q is both a field of %s and the section of mixin field %s; rename one (koanf tag)", p.name, m.section, cfgType, m.field)
		}
		mc, ok := m.ptr.(MixinConfig)
		if !ok {
			all.open = append(all.open, normKey(m.section))
			continue
		}
		m.proto = mc.ToilConfig
		proto := mc.ToilConfig()
		if v := reflect.ValueOf(proto); v.Kind() != reflect.Pointer || v.IsNil() || v.Elem().Kind() != reflect.Struct {
			return usagef("service %s: mixin field %s: ToilConfig returned %T; want a pointer to a struct", p.name, m.field, proto)
		}
		if err := applyDefaultTags(reflect.ValueOf(proto).Elem()); err != nil {
			return usagef("service %s: mixin field %s: %v", p.name, m.field, err)
		}
		if m.schema, err = schemaOf(reflect.TypeOf(proto), reflect.ValueOf(proto)); err != nil {
			return usagef("service %s: mixin field %s: %v", p.name, m.field, err)
		}
		for _, l := range m.schema.leaves {
			l.key = m.section + "." + l.key
			all.leaves = append(all.leaves, l)
		}
		for _, o := range m.schema.open {
			all.open = append(all.open, normKey(m.section)+"."+o)
		}
	}
	p.schema = all
	return nil
}

// findConfigFile picks the config file: WithConfigFile, else --config,
// else TOIL_CONFIG, else ./toil.config.yaml if it exists.
func (p *proc) findConfigFile(flag string) error {
	path, explicit := "", true
	env, _ := p.o.lookupEnv("TOIL_CONFIG")
	switch {
	case p.o.configFile != nil:
		path = *p.o.configFile
	case flag != "":
		path = flag
	case env != "":
		path = env
	default:
		path, explicit = "toil.config.yaml", false
	}
	if path == "" {
		return nil
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return usagef("config %s: %v", path, err)
	}
	if _, err := os.Stat(abs); err != nil {
		if !explicit {
			return nil
		}
		return usagef("config %s: no such file (from --config, TOIL_CONFIG or WithConfigFile)", path)
	}
	p.configPath = abs
	return nil
}

// openSwitches loads the switches file, if one is configured.
func (p *proc) openSwitches(path string) error {
	switch {
	case p.o.switches != nil:
		p.sw = p.o.switches
	case path != "":
		sw, err := LoadSwitches(path)
		if err != nil {
			return usageError{fmt.Errorf("switches: %w", err)}
		}
		p.sw, p.swFile = sw, path
	default:
		p.sw = NewSwitches()
	}
	return nil
}

// load reads every config source afresh and decodes it.
func (p *proc) load() (*snapshot, error) {
	var f *configFile
	if p.configPath != "" {
		var err error
		if f, err = readConfigFile(p.configPath); err != nil {
			return nil, err
		}
	}
	env, unknown := envSource(p.name, p.schema, p.o.environ, p.o.lookupEnv)
	srcs := []source{f.source(p.name), env, p.flags}
	snap := &snapshot{file: f, section: newValues(sectionKoanf(srcs)), unknownEnv: unknown}
	if p.typed == nil {
		return snap, nil
	}
	own, per := splitSources(srcs, p.mixins)
	cfg, err := newDefaults(p.typed.configType())
	if err != nil {
		return nil, usagef("service %s: %v", p.name, err)
	}
	if err := decodeSources(cfg.Interface(), p.ownSchema, p.name, own); err != nil {
		return nil, err
	}
	if err := p.typed.validate(p.svc, cfg.Interface()); err != nil {
		return nil, configError(p.name, err)
	}
	snap.cfg = cfg.Interface()
	snap.mixins = make([]any, len(p.mixins))
	for i, m := range p.mixins {
		if m.proto == nil {
			snap.mixins[i] = newValues(cutSection(snap.section, m.section))
			continue
		}
		mc := m.proto()
		if err := applyDefaultTags(reflect.ValueOf(mc).Elem()); err != nil {
			return nil, usagef("service %s: mixin field %s: %v", p.name, m.field, err)
		}
		section := p.name + "." + m.section
		if err := decodeSources(mc, m.schema, section, per[i]); err != nil {
			return nil, err
		}
		if v, ok := mc.(interface{ Validate() error }); ok {
			if err := v.Validate(); err != nil {
				return nil, configError(section, err)
			}
		}
		snap.mixins[i] = mc
	}
	return snap, nil
}

// splitSources separates the keys of the service's own config from those of
// each mixin's section (with the section prefix removed).
func splitSources(srcs []source, mixins []*mixin) ([]source, [][]source) {
	own := make([]source, len(srcs))
	per := make([][]source, len(mixins))
	for i := range mixins {
		per[i] = make([]source, len(srcs))
	}
	for si, src := range srcs {
		own[si] = source{kind: src.kind, vals: map[string]any{}, where: map[string]string{}}
		for i := range mixins {
			per[i][si] = source{kind: src.kind, vals: map[string]any{}, where: map[string]string{}}
		}
	next:
		for key, val := range src.vals {
			head, rest, ok := strings.Cut(key, ".")
			if ok {
				for i, m := range mixins {
					if normKey(head) == normKey(m.section) {
						per[i][si].vals[rest] = val
						per[i][si].where[rest] = src.where[key]
						continue next
					}
				}
			}
			own[si].vals[key] = val
			own[si].where[key] = src.where[key]
		}
	}
	return own, per
}

// cutSection returns the part of v below section, whatever its spelling.
func cutSection(v *Values, section string) *koanf.Koanf {
	k := v.ko()
	for _, key := range k.Keys() {
		head, _, _ := strings.Cut(key, ".")
		if normKey(head) == normKey(section) {
			return k.Cut(head)
		}
	}
	return k.Cut(section)
}

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
	p.setState("stopped")
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
// service's Run, its HTTP handler and the mixins' actors.
func (p *proc) actors() ([]actor, error) {
	if p.fn != nil {
		return []actor{{Actor{Name: "func", Run: func(ctx context.Context) error { return p.fn(ctx, p.s) }}, "service"}}, nil
	}
	var out []actor
	if r, ok := p.svc.(Runner); ok {
		out = append(out, actor{Actor{Name: "Run", Run: r.Run}, "service"})
	}
	var h http.Handler
	if hp, ok := p.svc.(HandlerProvider); ok {
		h = hp.Handler()
	} else if hh, ok := p.svc.(http.Handler); ok {
		h = hh
	}
	if h != nil {
		a, err := p.httpActor(h)
		if err != nil {
			return nil, err
		}
		out = append(out, actor{a, "service"})
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
