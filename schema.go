package toil

import (
	"encoding"
	"fmt"
	"reflect"
	"strings"
	"time"
	"unicode"

	"github.com/go-viper/mapstructure/v2"
)

const redactedText = "[REDACTED]"

// leaf is one config key the service declared.
type leaf struct {
	key    string // canonical: "batch_size", "redis.url"
	typ    reflect.Type
	env    string // the field's own env tag, "" if none
	secret bool
	help   string
	def    string // default, for --help; redacted for secrets
}

// schema is the set of keys a config struct declares.
type schema struct {
	leaves []leaf
	open   []string // normalized prefixes below which any key is allowed (maps, any)
}

func (s *schema) find(key string) (leaf, bool) {
	n := normKey(key)
	for _, l := range s.leaves {
		if normKey(l.key) == n {
			return l, true
		}
	}
	return leaf{}, false
}

func (s *schema) allows(key string) bool {
	if _, ok := s.find(key); ok {
		return true
	}
	n := normKey(key)
	for _, p := range s.open {
		if n == p || strings.HasPrefix(n, p+".") {
			return true
		}
	}
	return false
}

func (s *schema) keys() []string {
	out := make([]string, 0, len(s.leaves))
	for _, l := range s.leaves {
		out = append(out, l.key)
	}
	return out
}

var (
	durationType  = reflect.TypeFor[time.Duration]()
	timeType      = reflect.TypeFor[time.Time]()
	textUnmarshal = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// schemaOf walks a config struct type. def is a value of that type holding
// the defaults (for --help), or invalid.
func schemaOf(t reflect.Type, def reflect.Value) (*schema, error) {
	s := &schema{}
	for def.IsValid() && def.Kind() == reflect.Pointer && t.Kind() != reflect.Pointer {
		def = def.Elem()
	}
	err := walkSchema(s, t, def, "")
	return s, err
}

func walkSchema(s *schema, t reflect.Type, def reflect.Value, prefix string) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
		if def.IsValid() {
			if def.IsNil() {
				def = reflect.Value{}
			} else {
				def = def.Elem()
			}
		}
	}
	if t.Kind() != reflect.Struct {
		return fmt.Errorf("config type %s is not a struct", t)
	}
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, squash := fieldKey(f)
		if name == "-" {
			continue
		}
		var fdef reflect.Value
		if def.IsValid() {
			fdef = def.Field(i)
		}
		if squash {
			if err := walkSchema(s, f.Type, fdef, prefix); err != nil {
				return err
			}
			continue
		}
		key := prefix + name
		ft := f.Type
		for ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		switch {
		case isLeafType(f.Type):
			l := leaf{key: key, typ: f.Type, env: f.Tag.Get("env"), secret: isSecret(f), help: f.Tag.Get("help")}
			if fdef.IsValid() && !fdef.IsZero() {
				l.def = fmt.Sprint(fdef.Interface())
				if l.secret {
					l.def = redactedText
				}
			}
			s.leaves = append(s.leaves, l)
		case ft.Kind() == reflect.Struct:
			if err := walkSchema(s, ft, fdef, key+"."); err != nil {
				return err
			}
		default: // maps, interfaces: keys below are the user's
			s.open = append(s.open, normKey(key))
		}
	}
	return nil
}

// fieldKey returns a field's config key, and whether an embedded struct's
// fields sit at its parent's level.
func fieldKey(f reflect.StructField) (string, bool) {
	tag, opts, _ := strings.Cut(f.Tag.Get("koanf"), ",")
	if tag == "-" {
		return "-", false
	}
	squash := strings.Contains(opts, "squash")
	if f.Anonymous && tag == "" {
		t := f.Type
		if t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		squash = t.Kind() == reflect.Struct
	}
	if tag != "" {
		return tag, squash
	}
	return snakeCase(f.Name), squash
}

func isLeafType(t reflect.Type) bool {
	if t == durationType || t == timeType || t.Implements(textUnmarshal) || reflect.PointerTo(t).Implements(textUnmarshal) {
		return true
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct, reflect.Map, reflect.Interface:
		return false
	}
	return true
}

func isSecret(f reflect.StructField) bool {
	v, ok := f.Tag.Lookup("secret")
	return (ok && v != "false") || f.Type == reflect.TypeFor[Secret]()
}

// snakeCase turns a Go field name into a config key: MaxConns is max_conns,
// HTTPAddr is http_addr, UserID is user_id.
func snakeCase(s string) string {
	r := []rune(s)
	var b strings.Builder
	for i, c := range r {
		if unicode.IsUpper(c) {
			prevLower := i > 0 && (unicode.IsLower(r[i-1]) || unicode.IsDigit(r[i-1]))
			nextLower := i > 0 && i+1 < len(r) && unicode.IsLower(r[i+1]) && unicode.IsUpper(r[i-1])
			if prevLower || nextLower {
				b.WriteByte('_')
			}
			c = unicode.ToLower(c)
		}
		b.WriteRune(c)
	}
	return b.String()
}

// normKey makes keys comparable whatever their spelling: lower case, no '_'
// or '-'. maxConns, max_conns and max-conns are the same key.
func normKey(k string) string {
	var b strings.Builder
	for _, c := range k {
		if c == '_' || c == '-' {
			continue
		}
		b.WriteRune(unicode.ToLower(c))
	}
	return b.String()
}

// envName is the environment form of a name: upper case, every
// non-alphanumeric as '_'.
func envName(s string) string {
	var b strings.Builder
	for _, c := range s {
		if unicode.IsLetter(c) || unicode.IsDigit(c) {
			b.WriteRune(unicode.ToUpper(c))
		} else {
			b.WriteByte('_')
		}
	}
	return b.String()
}

// newDefaults returns a fresh *T holding T's defaults: `default` tags, then
// SetDefaults.
func newDefaults(t reflect.Type) (reflect.Value, error) {
	v := reflect.New(t)
	if err := applyDefaultTags(v.Elem()); err != nil {
		return v, err
	}
	if d, ok := v.Interface().(interface{ SetDefaults() }); ok {
		d.SetDefaults()
	}
	return v, nil
}

func applyDefaultTags(v reflect.Value) error {
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		fv := v.Field(i)
		if def, ok := f.Tag.Lookup("default"); ok && fv.IsZero() {
			if err := decodeInto(fv.Addr().Interface(), def); err != nil {
				return fmt.Errorf("field %s.%s: default tag %q: %w", t, f.Name, def, err)
			}
			continue
		}
		if f.Type.Kind() == reflect.Struct && !isLeafType(f.Type) {
			if err := applyDefaultTags(fv); err != nil {
				return err
			}
		}
	}
	return nil
}

func decoderConfig(out any) *mapstructure.DecoderConfig {
	return &mapstructure.DecoderConfig{
		DecodeHook: mapstructure.ComposeDecodeHookFunc(
			mapstructure.StringToTimeDurationHookFunc(),
			mapstructure.StringToSliceHookFunc(","),
			mapstructure.TextUnmarshallerHookFunc(),
		),
		WeaklyTypedInput: true,
		Squash:           true,
		TagName:          "koanf",
		MatchName:        func(a, b string) bool { return normKey(a) == normKey(b) },
		Result:           out,
	}
}

// decodeInto decodes in (a scalar, or a nested map) into out, a pointer,
// keeping whatever in does not mention.
func decodeInto(out, in any) error {
	d, err := mapstructure.NewDecoder(decoderConfig(out))
	if err != nil {
		return err
	}
	return d.Decode(in)
}

// nest turns "a.b.c" and v into {"a": {"b": {"c": v}}}.
func nest(key string, v any) map[string]any {
	parts := strings.Split(key, ".")
	m := map[string]any{parts[len(parts)-1]: v}
	for i := len(parts) - 2; i >= 0; i-- {
		m = map[string]any{parts[i]: m}
	}
	return m
}
