package toil

import (
	"context"
	"fmt"
	"maps"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// Switches is a set of feature switches in the style of gargoyle and gutter: each switch is
// on, off, or selective (on for an allow-list and a stable percentage of keys, minus a
// deny-list), and a switch named "parent:child" is active only where its parent is.
//
// A Switches is safe for concurrent use. Active reads an immutable snapshot through an atomic
// pointer, so it takes no lock and does not allocate for string and integer keys; Set, Reload
// and Watch build a new snapshot and swap it in. The zero value is an empty set, in which every
// switch is off.
type Switches struct {
	set    atomic.Pointer[switchSet]
	forced atomic.Pointer[map[string]bool]

	// mu serializes writers (Set, Reload, Force) so that a slow reload cannot overwrite a
	// newer one and no write is lost between copy and swap.
	mu   sync.Mutex
	path string
}

// switchSet is one immutable snapshot of the switches.
type switchSet struct {
	rules map[string]*switchRule
	// changed is closed when this snapshot is replaced; see Switches.Changed.
	changed chan struct{}
}

// switchRule is a Switch compiled for evaluation.
type switchRule struct {
	def Switch
	// parent is the name of the nearest defined ancestor ("a" for "a:b:c" when "a:b" is not
	// defined), or "" when there is none.
	parent    string
	threshold uint64 // Percent in buckets out of switchBuckets
	seed      uint64 // the hash state after name + ":", computed once per snapshot
	allow     map[string]struct{}
	deny      map[string]struct{}
}

// SwitchState says how a switch answers before its conditions are looked at.
type SwitchState uint8

const (
	// SwitchSelective, the zero value, makes a switch active for the keys its Allow list or
	// its Percent picks, except those in its Deny list.
	SwitchSelective SwitchState = iota
	// SwitchOn makes a switch active for everyone except the keys in its Deny list.
	SwitchOn
	// SwitchOff makes a switch inactive for everyone; its conditions are kept for when it is
	// turned back on (gargoyle's "disabled").
	SwitchOff
)

// String returns the state as written in a switches file: "selective", "on" or "off".
func (st SwitchState) String() string {
	switch st {
	case SwitchSelective:
		return "selective"
	case SwitchOn:
		return "on"
	case SwitchOff:
		return "off"
	}
	return "SwitchState(" + strconv.Itoa(int(st)) + ")"
}

// MarshalText writes the state as String does, so a Switch reads well in JSON (/debug pages,
// a store such as Redis).
func (st SwitchState) MarshalText() ([]byte, error) {
	if st > SwitchOff {
		return nil, fmt.Errorf("switch state %d is not one of selective, on, off", uint8(st))
	}
	return []byte(st.String()), nil
}

// UnmarshalText reads "selective", "on" or "off" (also "true" and "false").
func (st *SwitchState) UnmarshalText(b []byte) error {
	v, ok := parseSwitchState(string(b))
	if !ok {
		return fmt.Errorf("switch state %q is not one of selective, on, off", b)
	}
	*st = v
	return nil
}

func parseSwitchState(s string) (SwitchState, bool) {
	switch s {
	case "selective":
		return SwitchSelective, true
	case "on", "true":
		return SwitchOn, true
	case "off", "false":
		return SwitchOff, true
	}
	return 0, false
}

// Switch is the definition of one feature switch, as written in a switches file or given to
// Switches.Set. The zero Switch is selective with no conditions: off for everyone.
type Switch struct {
	// State is selective (the default), on or off.
	State SwitchState `json:"state"`
	// Percent is the share of keys, from 0 to 100, for which a selective switch is active.
	// A key's answer comes from a stable hash of the switch name and the key's value, so it
	// is the same in every process and after every restart, and two switches at 50% pick
	// independent halves. The resolution is 0.0001%. Without a key only 100% is active.
	Percent float64 `json:"percent,omitempty"`
	// By names the key kind the percentage hashes (the first key built with KeyOf(By, v));
	// empty means the first key given.
	By string `json:"by,omitempty"`
	// Allow lists key values for which a selective switch is active whatever the percentage.
	// An entry matches a key whose value is the entry ("42"), or whose kind and value joined
	// by a colon are the entry ("user:42").
	Allow []string `json:"allow,omitempty"`
	// Deny lists key values, matched as Allow, for which the switch is inactive whatever
	// else says active (except a forced override).
	Deny []string `json:"deny,omitempty"`
}

// switchBuckets is how many buckets a percentage splits keys into: 1e6 gives 0.0001%.
const switchBuckets = 1_000_000

func compileSwitch(name string, sw Switch) *switchRule {
	p := sw.Percent
	if math.IsNaN(p) || p < 0 {
		p = 0
	}
	r := &switchRule{
		def:       sw,
		seed:      switchFNV(switchFNV(switchFNVOffset, name), ":"),
		threshold: uint64(math.Round(min(p, 100) * switchBuckets / 100)),
	}
	if len(sw.Allow) > 0 {
		r.allow = make(map[string]struct{}, len(sw.Allow))
		for _, v := range sw.Allow {
			r.allow[v] = struct{}{}
		}
	}
	if len(sw.Deny) > 0 {
		r.deny = make(map[string]struct{}, len(sw.Deny))
		for _, v := range sw.Deny {
			r.deny[v] = struct{}{}
		}
	}
	return r
}

// newSwitchSet compiles defs into a snapshot. It owns defs from then on.
func newSwitchSet(defs map[string]Switch) *switchSet {
	set := &switchSet{rules: make(map[string]*switchRule, len(defs)), changed: make(chan struct{})}
	for name, sw := range defs {
		set.rules[name] = compileSwitch(name, sw)
	}
	for name, r := range set.rules {
		for p := switchParent(name); p != ""; p = switchParent(p) {
			if _, ok := set.rules[p]; ok {
				r.parent = p
				break
			}
		}
	}
	return set
}

// switchParent returns "a:b" for "a:b:c", and "" for a name without a parent.
func switchParent(name string) string {
	i := strings.LastIndexByte(name, ':')
	if i <= 0 {
		return ""
	}
	return name[:i]
}

// NewSwitches returns an empty set: every switch is off until Set defines it.
func NewSwitches() *Switches {
	s := &Switches{}
	s.set.Store(newSwitchSet(nil))
	return s
}

// load returns the current snapshot, creating an empty one for a zero Switches.
// Writers call it with s.mu held.
func (s *Switches) load() *switchSet {
	if set := s.set.Load(); set != nil {
		return set
	}
	set := newSwitchSet(nil)
	if s.set.CompareAndSwap(nil, set) {
		return set
	}
	return s.set.Load()
}

// replace swaps in a new snapshot and wakes those waiting on Changed. Called with s.mu held.
func (s *Switches) replace(defs map[string]Switch) {
	old := s.load()
	s.set.Store(newSwitchSet(defs))
	close(old.changed)
}

// Set defines or replaces the switch name. It is the programmatic store (tests, an admin
// endpoint, a Redis-backed store). On a set loaded from a file, the next reload replaces
// everything with the file's content, including what Set defined. A Percent outside 0–100 is
// clamped.
func (s *Switches) Set(name string, sw Switch) {
	sw.Allow = slices.Clone(sw.Allow)
	sw.Deny = slices.Clone(sw.Deny)
	s.mu.Lock()
	defer s.mu.Unlock()
	defs := s.load().defs()
	defs[name] = sw
	s.replace(defs)
}

// Replace swaps in defs as the whole set, dropping the switches it does not name: the
// programmatic reload for a store that holds every switch, such as a Redis hash. Those waiting
// on Changed are woken. A file's next reload replaces it in turn, so a set is fed by one store.
func (s *Switches) Replace(defs map[string]Switch) {
	own := make(map[string]Switch, len(defs))
	for name, sw := range defs {
		sw.Allow = slices.Clone(sw.Allow)
		sw.Deny = slices.Clone(sw.Deny)
		own[name] = sw
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.replace(own)
}

// defs returns a copy of the definitions in the snapshot.
func (set *switchSet) defs() map[string]Switch {
	defs := make(map[string]Switch, len(set.rules)+1)
	for name, r := range set.rules {
		defs[name] = r.def
	}
	return defs
}

// Changed returns a channel that is closed the next time the set is replaced: by Set, Reload,
// or a reload from Watch (even when the file's content did not change). Take the channel
// before the change you wait for, then check the state, then wait:
//
//	for ch := sw.Changed(); !sw.Active(ctx, "x"); ch = sw.Changed() { <-ch }
func (s *Switches) Changed() <-chan struct{} {
	if set := s.set.Load(); set != nil {
		return set.changed
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.load().changed
}

// Names returns the names of the defined switches, sorted; for /debug pages and metrics.
func (s *Switches) Names() []string {
	set := s.set.Load()
	if set == nil {
		return []string{}
	}
	return slices.Sorted(maps.Keys(set.rules))
}

// Snapshot returns a copy of every switch's definition, taken from one consistent state; for
// /debug pages (Switch marshals to JSON).
func (s *Switches) Snapshot() map[string]Switch {
	set := s.set.Load()
	if set == nil {
		return map[string]Switch{}
	}
	defs := set.defs()
	for name, sw := range defs {
		sw.Allow = slices.Clone(sw.Allow)
		sw.Deny = slices.Clone(sw.Deny)
		defs[name] = sw
	}
	return defs
}

// Force makes Active return on for name, whatever its definition, its parent or a reload
// says, until the returned restore func is called; restore puts back what was forced before.
// Forcing a parent off turns its children off too, since they ask their parent. Force is
// meant for tests: prefer toiltest.ForceSwitch, which restores at the end of the test and
// catches parallel tests that force the same switch.
func (s *Switches) Force(name string, on bool) (restore func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	prev, had := s.forcedValue(name)
	s.setForced(name, on, true)
	var once sync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			defer s.mu.Unlock()
			s.setForced(name, prev, had)
		})
	}
}

func (s *Switches) forcedValue(name string) (on, ok bool) {
	if p := s.forced.Load(); p != nil {
		on, ok = (*p)[name]
	}
	return on, ok
}

// setForced copies the forced map with name set (or deleted when !ok). Called with s.mu held.
func (s *Switches) setForced(name string, on, ok bool) {
	m := map[string]bool{}
	if p := s.forced.Load(); p != nil {
		m = maps.Clone(*p)
	}
	if ok {
		m[name] = on
	} else {
		delete(m, name)
	}
	if len(m) == 0 {
		// nil keeps Active's fast path for the common case: nothing forced.
		s.forced.Store(nil)
		return
	}
	s.forced.Store(&m)
}

// switchCtxKey is the context key for WithSwitch overrides.
type switchCtxKey struct{}

// switchCtxForce is one WithSwitch override; they chain so the innermost wins.
type switchCtxForce struct {
	name string
	on   bool
	next *switchCtxForce
}

// switchCtxUsed turns on the context lookup in Active once any WithSwitch was made, so that a
// process that never overrides through contexts never pays for ctx.Value.
var switchCtxUsed atomic.Bool

// WithSwitch returns a context in which Active, on any Switches, returns on for name, whatever
// the switch's definition or its parent says. It scopes an override to one test, request or
// call chain without touching shared state, so parallel tests cannot see each other's
// overrides. It wins over Switches.Force.
func WithSwitch(ctx context.Context, name string, on bool) context.Context {
	switchCtxUsed.Store(true)
	next, _ := ctx.Value(switchCtxKey{}).(*switchCtxForce)
	return context.WithValue(ctx, switchCtxKey{}, &switchCtxForce{name: name, on: on, next: next})
}

// switchOverrides are the overrides in force for one Active call.
type switchOverrides struct {
	ctx    *switchCtxForce
	forced map[string]bool
}

func (o switchOverrides) lookup(name string) (on, ok bool) {
	for f := o.ctx; f != nil; f = f.next {
		if f.name == name {
			return f.on, true
		}
	}
	on, ok = o.forced[name]
	return on, ok
}

// Active reports whether the switch name is active for keys. An unknown switch is off; a
// switch named "parent:child" is active only if its nearest defined ancestor is active for
// the same keys; an override from WithSwitch (in ctx) or Force decides before anything else.
// See Switch for how each state and condition answers. Active takes no lock and does not
// allocate for string and integer keys. A nil *Switches has no switches: only overrides in
// ctx can make it answer true.
func (s *Switches) Active(ctx context.Context, name string, keys ...SwitchKey) bool {
	var o switchOverrides
	if switchCtxUsed.Load() && ctx != nil {
		o.ctx, _ = ctx.Value(switchCtxKey{}).(*switchCtxForce)
	}
	var set *switchSet
	if s != nil {
		set = s.set.Load()
		if p := s.forced.Load(); p != nil {
			o.forced = *p
		}
	}
	return set.active(o, name, keys)
}

func (set *switchSet) active(o switchOverrides, name string, keys []SwitchKey) bool {
	overridden := o.ctx != nil || o.forced != nil
	if overridden {
		if on, ok := o.lookup(name); ok {
			return on
		}
	}
	if set == nil {
		return false
	}
	r := set.rules[name]
	if r == nil || !r.match(keys) {
		return false
	}
	if !overridden {
		return r.parent == "" || set.active(o, r.parent, keys)
	}
	// An override may name an ancestor that is not defined, so walk every ancestor.
	for p := switchParent(name); p != ""; p = switchParent(p) {
		if _, ok := o.lookup(p); ok || set.rules[p] != nil {
			return set.active(o, p, keys)
		}
	}
	return true
}

// match evaluates the switch's own state and conditions, not its parent's.
func (r *switchRule) match(keys []SwitchKey) bool {
	if r.def.State == SwitchOff {
		return false
	}
	if r.deny != nil {
		for _, k := range keys {
			if k.in(r.deny) {
				return false
			}
		}
	}
	if r.def.State == SwitchOn {
		return true
	}
	if r.allow != nil {
		for _, k := range keys {
			if k.in(r.allow) {
				return true
			}
		}
	}
	switch {
	case r.threshold == 0:
		return false
	case r.threshold >= switchBuckets:
		return true
	}
	for _, k := range keys {
		if k.form != switchKeyNone && (r.def.By == "" || k.kind == r.def.By) {
			return switchBucket(r.seed, k) < r.threshold
		}
	}
	// No key to hash: a partial rollout has nothing to roll out to.
	return false
}

// SwitchKey is a value a switch decides on: a user id, a country, an account. Build one with
// Key or KeyOf. The zero SwitchKey is no key and is ignored.
type SwitchKey struct {
	kind string
	str  string
	num  uint64
	form switchKeyForm
}

type switchKeyForm uint8

const (
	switchKeyNone switchKeyForm = iota
	switchKeyString
	switchKeyInt
	switchKeyUint
)

// SwitchKeyValue is what a switch key can be made of: strings and integers, including named
// types such as `type UserID int64`. Anything else (a struct, a UUID array, a bool) must be
// turned into one first, e.g. with its String method, so that its identity, not its
// formatting or pointer, is what is hashed.
type SwitchKeyValue interface {
	~string | ~int | ~int8 | ~int16 | ~int32 | ~int64 | ~uint | ~uint8 | ~uint16 | ~uint32 | ~uint64
}

// Key returns a key for v, for Switches.Active: s.Switch.Active(ctx, "scorer:v2", toil.Key(userID)).
// Integers and their decimal strings are the same key: Key(42) and Key("42") get the same
// answer everywhere. It does not allocate.
func Key[T SwitchKeyValue](v T) SwitchKey {
	return KeyOf("", v)
}

// KeyOf returns a key for v qualified by kind ("user", "country"), so an allow-list entry
// "user:42" matches it and a switch with by: user hashes it. The percentage hashes only v, so
// KeyOf("user", 42) and Key(42) land in the same bucket. It does not allocate.
func KeyOf[T SwitchKeyValue](kind string, v T) SwitchKey {
	// The common types skip reflect; named types (type UserID int64) take the reflect path,
	// which does not make v escape, so neither allocates.
	switch x := any(v).(type) {
	case string:
		return SwitchKey{kind: kind, str: x, form: switchKeyString}
	case int:
		return SwitchKey{kind: kind, num: uint64(x), form: switchKeyInt}
	case int64:
		return SwitchKey{kind: kind, num: uint64(x), form: switchKeyInt}
	case int32:
		return SwitchKey{kind: kind, num: uint64(x), form: switchKeyInt}
	case uint64:
		return SwitchKey{kind: kind, num: x, form: switchKeyUint}
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.String:
		return SwitchKey{kind: kind, str: rv.String(), form: switchKeyString}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return SwitchKey{kind: kind, num: uint64(rv.Int()), form: switchKeyInt}
	default: // SwitchKeyValue leaves only unsigned integers
		return SwitchKey{kind: kind, num: rv.Uint(), form: switchKeyUint}
	}
}

// Kind returns the kind given to KeyOf, or "" for a key from Key.
func (k SwitchKey) Kind() string { return k.kind }

// Value returns the key's value as allow-lists see it: the string, or the integer in decimal.
func (k SwitchKey) Value() string {
	var buf [24]byte
	return string(k.appendValue(buf[:0]))
}

// String returns "kind:value", or the value alone for a key without a kind.
func (k SwitchKey) String() string {
	if k.kind == "" {
		return k.Value()
	}
	return k.kind + ":" + k.Value()
}

func (k SwitchKey) appendValue(b []byte) []byte {
	switch k.form {
	case switchKeyString:
		return append(b, k.str...)
	case switchKeyInt:
		return strconv.AppendInt(b, int64(k.num), 10)
	case switchKeyUint:
		return strconv.AppendUint(b, k.num, 10)
	}
	return b
}

// in reports whether an entry of an allow- or deny-list matches the key: its value alone, or
// "kind:value". The buffers live on the stack, so a match costs no allocation.
func (k SwitchKey) in(set map[string]struct{}) bool {
	if k.form == switchKeyNone {
		return false
	}
	var buf [64]byte
	if k.form == switchKeyString {
		if _, ok := set[k.str]; ok {
			return true
		}
	} else if _, ok := set[string(k.appendValue(buf[:0]))]; ok {
		return true
	}
	if k.kind == "" {
		return false
	}
	qualified := append(append(buf[:0], k.kind...), ':')
	_, ok := set[string(k.appendValue(qualified))]
	return ok
}

// The percentage hash is part of the switches file's contract: changing it would move users
// in and out of every rollout, so it must never change. It is FNV-1a 64 over
// name + ":" + value (integers in decimal), finished with murmur3's fmix64 so that names
// differing only in their last bytes still give independent buckets, taken modulo 1e6.
const (
	switchFNVOffset = 14695981039346656037
	switchFNVPrime  = 1099511628211
)

func switchFNV[T string | []byte](h uint64, s T) uint64 {
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= switchFNVPrime
	}
	return h
}

// switchBucket finishes the hash from seed, the state after the switch's name and ":".
func switchBucket(seed uint64, k SwitchKey) uint64 {
	h := seed
	if k.form == switchKeyString {
		h = switchFNV(h, k.str)
	} else {
		var buf [24]byte
		h = switchFNV(h, k.appendValue(buf[:0]))
	}
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return h % switchBuckets
}
