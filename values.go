package toil

import (
	stdmaps "maps"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/knadh/koanf/v2"
)

// Values is an untyped, read-only view of a config section: what a function
// service gets as S.Config and a mixin as MixinEnv.Values. Keys nest with
// '.', and match case- and underscore-insensitively (max_conns, maxConns).
// The S.Config of a running service follows reloads; snapshots handed to
// hooks do not change.
type Values struct {
	k atomic.Pointer[koanf.Koanf]
}

func newValues(k *koanf.Koanf) *Values {
	v := &Values{}
	v.k.Store(k)
	return v
}

func (v *Values) ko() *koanf.Koanf {
	if v == nil {
		return koanf.New(".")
	}
	if k := v.k.Load(); k != nil {
		return k
	}
	return koanf.New(".")
}

// resolve finds the stored spelling of key.
func (v *Values) resolve(key string) (*koanf.Koanf, string) {
	k := v.ko()
	if k.Exists(key) {
		return k, key
	}
	n := normKey(key)
	for _, have := range k.Keys() {
		if normKey(have) == n {
			return k, have
		}
	}
	return k, key
}

// Exists reports whether key is set.
func (v *Values) Exists(key string) bool { k, key := v.resolve(key); return k.Exists(key) }

// String returns key as a string, "" if unset.
func (v *Values) String(key string) string { k, key := v.resolve(key); return k.String(key) }

// Strings returns key as a list; a string value splits at commas.
func (v *Values) Strings(key string) []string {
	k, key := v.resolve(key)
	if s, ok := k.Get(key).(string); ok {
		if s == "" {
			return nil
		}
		return strings.Split(s, ",")
	}
	return k.Strings(key)
}

// Int returns key as an int, 0 if unset or not a number.
func (v *Values) Int(key string) int { k, key := v.resolve(key); return k.Int(key) }

// Float64 returns key as a float64, 0 if unset or not a number.
func (v *Values) Float64(key string) float64 { k, key := v.resolve(key); return k.Float64(key) }

// Bool returns key as a bool, false if unset or not a bool.
func (v *Values) Bool(key string) bool { k, key := v.resolve(key); return k.Bool(key) }

// Duration returns key as a duration ("5s", or a number of nanoseconds).
func (v *Values) Duration(key string) time.Duration { k, key := v.resolve(key); return k.Duration(key) }

// Keys returns every key that is set, flattened and sorted.
func (v *Values) Keys() []string { return v.ko().Keys() }

// Unmarshal decodes the whole section into out, a pointer to a struct,
// with the rules of typed config (koanf tags, snake_case keys, "5s"
// durations). Fields the section does not mention keep their values.
func (v *Values) Unmarshal(out any) error {
	return decodeInto(out, v.ko().Raw())
}

func (v *Values) all() map[string]any { return v.ko().All() }

// sectionKoanf builds the merged, untyped view of a service's section.
func sectionKoanf(srcs []source) *koanf.Koanf {
	k := koanf.New(".")
	for _, src := range srcs {
		for _, key := range slices.Sorted(stdmaps.Keys(src.vals)) {
			_ = k.Set(key, src.vals[key]) // Set only fails on a nil map
		}
	}
	return k
}
