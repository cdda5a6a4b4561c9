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
	"strconv"
	"strings"
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
	p.mixins = withImplicitHTTP(b, findMixins(v.Elem(), ""))
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
		own[si] = source{vals: map[string]any{}, where: map[string]string{}}
		for i := range mixins {
			per[i][si] = source{vals: map[string]any{}, where: map[string]string{}}
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
