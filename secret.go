package toil

import (
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"sync"
)

// Secret is a string that does not print: fmt, slog, JSON and YAML all show
// [REDACTED]. Use it for passwords and tokens in config structs; a field of
// this type is secret without a tag. Convert to string to use the value:
// string(cfg.Password).
type Secret string

// String returns [REDACTED].
func (Secret) String() string { return redactedText }

// GoString returns [REDACTED], for %#v.
func (Secret) GoString() string { return redactedText }

// LogValue returns [REDACTED].
func (Secret) LogValue() slog.Value { return slog.StringValue(redactedText) }

// MarshalText returns [REDACTED], so config dumps in JSON or YAML hide it.
func (Secret) MarshalText() ([]byte, error) { return []byte(redactedText), nil }

// Format prints [REDACTED] for every verb.
func (Secret) Format(f fmt.State, _ rune) { fmt.Fprint(f, redactedText) }

// Redacted wraps a value, typically a config struct, for printing: its
// LogValue and String show every field under its config key except those
// tagged `secret:"true"` (or of type [Secret]), which show [REDACTED].
//
// toil's loggers already redact any struct with secret fields passed as a
// log attribute; Redacted is for other loggers and for printing.
type Redacted struct{ V any }

// LogValue returns the value as a group with secrets hidden.
func (r Redacted) LogValue() slog.Value { return redactValue(reflect.ValueOf(r.V)) }

// String returns the value as key=value pairs with secrets hidden.
func (r Redacted) String() string {
	var b strings.Builder
	writeValue(&b, "", r.LogValue())
	return strings.TrimSpace(b.String())
}

func writeValue(b *strings.Builder, prefix string, v slog.Value) {
	if v.Kind() != slog.KindGroup {
		fmt.Fprintf(b, "%s=%v ", strings.TrimSuffix(prefix, "."), v.Any())
		return
	}
	for _, a := range v.Group() {
		writeValue(b, prefix+a.Key+".", a.Value.Resolve())
	}
}

var secretTypes sync.Map // reflect.Type → bool

// hasSecrets reports whether values of t can hold a secret field.
func hasSecrets(t reflect.Type) bool {
	if v, ok := secretTypes.Load(t); ok {
		return v.(bool)
	}
	secretTypes.Store(t, false) // breaks cycles in recursive types
	found := scanSecrets(t)
	secretTypes.Store(t, found)
	return found
}

func scanSecrets(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Pointer, reflect.Slice, reflect.Array, reflect.Map:
		return hasSecrets(t.Elem())
	case reflect.Struct:
		for i := range t.NumField() {
			f := t.Field(i)
			if f.IsExported() && (isSecret(f) || hasSecrets(f.Type)) {
				return true
			}
		}
	}
	return false
}

// redactValue renders v for a log: structs become groups keyed like config,
// secret fields show [REDACTED], and containers of secret-holding structs
// are hidden whole.
func redactValue(v reflect.Value) slog.Value {
	for v.IsValid() && (v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface) {
		if v.IsNil() {
			return slog.AnyValue(nil)
		}
		v = v.Elem()
	}
	if !v.IsValid() {
		return slog.AnyValue(nil)
	}
	if !hasSecrets(v.Type()) {
		return slog.AnyValue(v.Interface())
	}
	if v.Kind() != reflect.Struct {
		return slog.StringValue(redactedText)
	}
	t := v.Type()
	attrs := make([]slog.Attr, 0, t.NumField())
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		key, _ := fieldKey(f)
		if key == "-" {
			key = snakeCase(f.Name)
		}
		if isSecret(f) {
			attrs = append(attrs, slog.String(key, redactedText))
			continue
		}
		attrs = append(attrs, slog.Attr{Key: key, Value: redactValue(v.Field(i))})
	}
	return slog.GroupValue(attrs...)
}

// redactAttr is the loggers' ReplaceAttr: any attribute holding a struct
// with secret fields is logged redacted, however the caller passed it.
func redactAttr(_ []string, a slog.Attr) slog.Attr {
	if a.Value.Kind() != slog.KindAny {
		return a
	}
	v := a.Value.Any()
	if t := reflect.TypeOf(v); t != nil && hasSecrets(t) {
		a.Value = redactValue(reflect.ValueOf(v))
	}
	return a
}
