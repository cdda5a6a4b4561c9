package layout

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Field names what changed in a service or backing system: the toil.yaml
// key.
type Field string

// The fields [Diff] compares. Procs is not among them: a change of procs
// is a [Scale].
const (
	FieldRun          Field = "run"
	FieldMain         Field = "main"
	FieldArgs         Field = "args"
	FieldListen       Field = "listen"
	FieldEnv          Field = "env"
	FieldConfig       Field = "config"
	FieldWatch        Field = "watch"
	FieldDepends      Field = "depends"
	FieldStopTimeout  Field = "stop_timeout"
	FieldReadyTimeout Field = "ready_timeout"

	FieldEmbedded Field = "embedded"
	FieldCmd      Field = "cmd"
	FieldKind     Field = "kind"
	FieldFallback Field = "fallback"
	FieldPort     Field = "port"
	FieldReady    Field = "ready"
)

// Changes is what differs between two layouts, in the terms a supervisor
// applies a toil.yaml edit: start and stop services, start or stop some
// workers, bind a new socket, roll a service, swap the proxy's routes,
// restart a backing system. Every list is in file order (the new file's,
// or the old one's for what was removed).
type Changes struct {
	// Name is true when the layout's name changed.
	Name bool
	// Added are services only in the new layout: start them.
	Added []string
	// Removed are services only in the old layout: stop them.
	Removed []string
	// Scaled are services whose procs changed: start or stop workers, the
	// others keep running.
	Scaled []Scale
	// Changed are services with other changes; see [ServiceChange.Roll].
	Changed []ServiceChange
	// Proxy is what changed in the proxy, or nil.
	Proxy *ProxyChange
	// BackingAdded and BackingRemoved are backing systems to start and
	// stop; BackingChanged are those to restart with their new settings.
	BackingAdded, BackingRemoved []string
	BackingChanged               []BackingChange
	// Env are the names in the top-level env: that were added, removed or
	// given a new value, sorted. The services whose environment this
	// changes are in Changed with [FieldEnv].
	Env []string
}

// Scale is a change of a service's worker count.
type Scale struct {
	Service  string
	From, To int
}

// ServiceChange lists what changed in a service that is in both layouts.
type ServiceChange struct {
	Service string
	// Fields are in the order of the Field constants.
	Fields []Field
}

// Has reports whether f changed.
func (c ServiceChange) Has(f Field) bool { return slices.Contains(c.Fields, f) }

// Roll reports whether the workers must be replaced, one at a time, for
// the change to take effect: the program, its arguments, its environment
// or its address changed. Other fields (config and watch lists, depends,
// timeouts) apply to the supervisor without touching the workers.
func (c ServiceChange) Roll() bool {
	return slices.ContainsFunc(c.Fields, func(f Field) bool {
		switch f {
		case FieldRun, FieldMain, FieldArgs, FieldEnv, FieldListen:
			return true
		}
		return false
	})
}

// Rebind reports whether the service needs a new listening socket (listen
// changed) before its workers roll onto it.
func (c ServiceChange) Rebind() bool { return c.Has(FieldListen) }

// ProxyChange is what changed in the proxy.
type ProxyChange struct {
	// Added and Removed: the proxy appeared or went away.
	Added, Removed bool
	// Listen: a new listening socket.
	Listen bool
	// Routes: a new routing table, swapped in atomically.
	Routes bool
	// Timeouts: any of the timeouts.
	Timeouts bool
}

// BackingChange lists what changed in a backing system in both layouts:
// it restarts with the new settings.
type BackingChange struct {
	Backing string
	Fields  []Field
}

// Diff compares two layouts. A nil old is an empty layout, so Diff(nil, l)
// starts everything.
func Diff(old, new *Layout) Changes {
	if old == nil {
		old = &Layout{}
	}
	if new == nil {
		new = &Layout{}
	}
	var c Changes
	c.Name = old.Name != new.Name
	for _, s := range new.Services {
		o := old.Service(s.Name)
		if o == nil {
			c.Added = append(c.Added, s.Name)
			continue
		}
		if o.Procs != s.Procs {
			c.Scaled = append(c.Scaled, Scale{Service: s.Name, From: o.Procs, To: s.Procs})
		}
		if f := serviceFields(old, o, new, s); len(f) > 0 {
			c.Changed = append(c.Changed, ServiceChange{Service: s.Name, Fields: f})
		}
	}
	for _, s := range old.Services {
		if new.Service(s.Name) == nil {
			c.Removed = append(c.Removed, s.Name)
		}
	}
	c.Proxy = diffProxy(old.Proxy, new.Proxy)
	for _, b := range new.Backing {
		o := old.BackingNamed(b.Name)
		if o == nil {
			c.BackingAdded = append(c.BackingAdded, b.Name)
			continue
		}
		if f := backingFields(o, b); len(f) > 0 {
			c.BackingChanged = append(c.BackingChanged, BackingChange{Backing: b.Name, Fields: f})
		}
	}
	for _, b := range old.Backing {
		if new.BackingNamed(b.Name) == nil {
			c.BackingRemoved = append(c.BackingRemoved, b.Name)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(union(old.Env, new.Env))) {
		ov, inOld := old.Env[k]
		nv, inNew := new.Env[k]
		if inOld != inNew || ov != nv {
			c.Env = append(c.Env, k)
		}
	}
	return c
}

func union(a, b Env) map[string]bool {
	out := make(map[string]bool, len(a)+len(b))
	for k := range a {
		out[k] = true
	}
	for k := range b {
		out[k] = true
	}
	return out
}

func serviceFields(ol *Layout, o *Service, nl *Layout, s *Service) []Field {
	var f []Field
	add := func(changed bool, field Field) {
		if changed {
			f = append(f, field)
		}
	}
	add(o.Run != s.Run, FieldRun)
	add(o.Main != s.Main, FieldMain)
	add(!slices.Equal(o.Args, s.Args), FieldArgs)
	add(o.Listen != s.Listen, FieldListen)
	// The environment the workers get, the layout's env under the
	// service's: an edit of the top-level env rolls every service it
	// reaches, and only those.
	add(!maps.Equal(ol.ServiceEnv(o), nl.ServiceEnv(s)), FieldEnv)
	add(!slices.Equal(o.Config, s.Config), FieldConfig)
	add(!slices.Equal(o.Watch, s.Watch), FieldWatch)
	add(!slices.Equal(o.Depends, s.Depends), FieldDepends)
	add(o.StopTimeout != s.StopTimeout, FieldStopTimeout)
	add(o.ReadyTimeout != s.ReadyTimeout, FieldReadyTimeout)
	return f
}

func backingFields(o, b *Backing) []Field {
	var f []Field
	add := func(changed bool, field Field) {
		if changed {
			f = append(f, field)
		}
	}
	add(o.Embedded != b.Embedded, FieldEmbedded)
	add(o.Cmd != b.Cmd, FieldCmd)
	add(o.Kind != b.Kind, FieldKind)
	add(o.Fallback != b.Fallback, FieldFallback)
	add(o.Port != b.Port, FieldPort)
	add(!maps.Equal(o.Env, b.Env), FieldEnv)
	add(o.Ready != b.Ready, FieldReady)
	add(o.StopTimeout != b.StopTimeout, FieldStopTimeout)
	return f
}

func diffProxy(o, n *Proxy) *ProxyChange {
	switch {
	case o == nil && n == nil:
		return nil
	case o == nil:
		return &ProxyChange{Added: true}
	case n == nil:
		return &ProxyChange{Removed: true}
	}
	pc := &ProxyChange{
		Listen: o.Listen != n.Listen,
		Routes: !slices.EqualFunc(o.Routes, n.Routes, func(a, b Route) bool {
			return a.Path == b.Path && a.To == b.To && a.StripPrefix == b.StripPrefix
		}),
		Timeouts: o.ConnectTimeout != n.ConnectTimeout || o.ReadTimeout != n.ReadTimeout ||
			o.WriteTimeout != n.WriteTimeout || o.IdleTimeout != n.IdleTimeout,
	}
	if *pc == (ProxyChange{}) {
		return nil
	}
	return pc
}

// Empty reports whether nothing changed that a supervisor acts on.
func (c Changes) Empty() bool {
	return !c.Name && len(c.Added) == 0 && len(c.Removed) == 0 && len(c.Scaled) == 0 &&
		len(c.Changed) == 0 && c.Proxy == nil && len(c.BackingAdded) == 0 &&
		len(c.BackingRemoved) == 0 && len(c.BackingChanged) == 0 && len(c.Env) == 0
}

// String is the changes one per line, for people: "+ service api",
// "~ service web: procs 2 → 4", "~ service scorer: env (roll)".
func (c Changes) String() string {
	var b strings.Builder
	line := func(format string, args ...any) {
		fmt.Fprintf(&b, format+"\n", args...)
	}
	if c.Name {
		line("~ name")
	}
	for _, n := range c.BackingAdded {
		line("+ backing %s", n)
	}
	for _, n := range c.BackingRemoved {
		line("- backing %s", n)
	}
	for _, bc := range c.BackingChanged {
		line("~ backing %s: %s (restart)", bc.Backing, joinFields(bc.Fields))
	}
	for _, n := range c.Added {
		line("+ service %s", n)
	}
	for _, n := range c.Removed {
		line("- service %s", n)
	}
	for _, s := range c.Scaled {
		line("~ service %s: procs %d → %d", s.Service, s.From, s.To)
	}
	for _, sc := range c.Changed {
		how := ""
		if sc.Roll() {
			how = " (roll)"
		}
		line("~ service %s: %s%s", sc.Service, joinFields(sc.Fields), how)
	}
	if len(c.Env) > 0 {
		line("~ env: %s", strings.Join(c.Env, ", "))
	}
	if p := c.Proxy; p != nil {
		switch {
		case p.Added:
			line("+ proxy")
		case p.Removed:
			line("- proxy")
		default:
			var what []string
			for _, w := range []struct {
				on   bool
				name string
			}{{p.Listen, "listen"}, {p.Routes, "routes"}, {p.Timeouts, "timeouts"}} {
				if w.on {
					what = append(what, w.name)
				}
			}
			line("~ proxy: %s", strings.Join(what, ", "))
		}
	}
	return b.String()
}

func joinFields(fs []Field) string {
	s := make([]string, len(fs))
	for i, f := range fs {
		s[i] = string(f)
	}
	return strings.Join(s, ", ")
}
