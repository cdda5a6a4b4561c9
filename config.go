package toil

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/knadh/koanf/maps"
	kjson "github.com/knadh/koanf/parsers/json"
	ktoml "github.com/knadh/koanf/parsers/toml/v2"
	kyaml "github.com/knadh/koanf/parsers/yaml"
	"github.com/knadh/koanf/providers/env/v2"
	"github.com/knadh/koanf/v2"
)

// The config file, how keys are named, and the order of sources:
//
//	# toil.config.yaml (or --config / TOIL_CONFIG; .yaml, .yml, .json, .toml)
//	toil:                     # framework settings, read once at start
//	  switches: switches.yaml # relative to this file; or TOIL_SWITCHES
//	  setup_timeout: 15s      # or TOIL_SETUP_TIMEOUT
//	  stop_timeout: 15s       # or TOIL_STOP_TIMEOUT
//	hello.world:              # one section per service, keyed by its name
//	  greeting: hi
//	tempest.scorer:
//	  batch_size: 64          # a field of the service's Cfg
//	  redis:                  # a mixin field's section, by field name
//	    url: redis://localhost:6379
//
// A field's key is its `koanf:"..."` tag, else its name in snake_case
// (MaxConns is max_conns; matching is case- and underscore-insensitive, so
// maxConns works in a file too). Nested structs nest. Sources, lowest first:
//
//  1. defaults: the Cfg's zero value, then `default:"..."` tags, then its
//     SetDefaults() method if it has one;
//  2. the service's section of the config file;
//  3. the environment: TOIL_<SERVICE>_<KEY>, the service name and key
//     upper-cased with every non-alphanumeric as '_' (TOIL_HELLO_WORLD_GREETING,
//     TOIL_TEMPEST_SCORER_REDIS_URL), and below it a field's own `env:"NAME"`
//     tag (for conventional names like REDIS_URL or PORT);
//  4. flags: --greeting=hi, --max-conns 5, --redis.url=..., --debug (bools).
//
// A field tagged `secret:"true"` never appears in a log line, in --help or
// in an error message. A `help:"..."` tag documents the flag.

// source is one layer of config: where it came from and its flat keys.
type source struct {
	vals  map[string]any    // flat key → value
	where map[string]string // flat key → "toil.config.yaml:4", "env TOIL_X_Y", "flag --y"
}

// configFile is the config file as read at one load.
type configFile struct {
	path string
	data []byte
	k    *koanf.Koanf // whole file, keys unflattened
}

func readConfigFile(path string) (*configFile, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, usageError{fmt.Errorf("read config %s: %w", path, err)}
	}
	var parser koanf.Parser
	switch strings.ToLower(filepath.Ext(path)) {
	case ".yaml", ".yml":
		parser = kyaml.Parser()
	case ".json":
		parser = kjson.Parser()
	case ".toml":
		parser = ktoml.Parser()
	default:
		return nil, usagef("config %s: unknown format %q; name it .yaml, .yml, .json or .toml", path, filepath.Ext(path))
	}
	m := map[string]any{}
	if len(bytes.TrimSpace(data)) > 0 {
		if m, err = parser.Unmarshal(data); err != nil {
			return nil, usagef("config %s: %v", path, err)
		}
	}
	maps.IntfaceKeysToStrings(m)
	// "hello.world:" and "hello: {world:}" are the same section: flatten and
	// rebuild so both nest the same way.
	flat, _ := maps.Flatten(m, nil, ".")
	k := koanf.New(".")
	if err := k.Load(mapProvider(maps.Unflatten(flat, ".")), nil); err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	return &configFile{path: path, data: data, k: k}, nil
}

// mapProvider hands an already parsed map to koanf.
type mapProvider map[string]any

func (m mapProvider) Read() (map[string]any, error) { return m, nil }
func (m mapProvider) ReadBytes() ([]byte, error) {
	return nil, errors.New("mapProvider has no bytes")
}

func (f *configFile) hash() [32]byte {
	if f == nil {
		return [32]byte{}
	}
	return sha256.Sum256(f.data)
}

// fileSource is the service's section of the file.
func (f *configFile) source(section string) source {
	s := source{vals: map[string]any{}, where: map[string]string{}}
	if f == nil {
		return s
	}
	sec := f.k.Cut(section)
	for _, key := range sec.Keys() {
		s.vals[key] = sec.Get(key)
		loc := f.path
		if line := yamlLine(f.data, section+"."+key); line > 0 {
			loc += ":" + strconv.Itoa(line)
		}
		s.where[key] = loc
	}
	return s
}

// settings are the framework's own knobs: the config file's `toil:` block,
// under TOIL_* variables.
type settings struct {
	switches     string
	setupTimeout time.Duration
	stopTimeout  time.Duration
}

func readSettings(f *configFile, lookup func(string) (string, bool)) (settings, error) {
	var s settings
	var raw struct {
		Switches     string
		SetupTimeout string
		StopTimeout  string
	}
	if f != nil && f.k.Exists("toil") {
		if err := decodeInto(&raw, f.k.Get("toil")); err != nil {
			return s, usagef("config %s: toil: %v", f.path, err)
		}
		if raw.Switches != "" && !filepath.IsAbs(raw.Switches) {
			raw.Switches = filepath.Join(filepath.Dir(f.path), raw.Switches)
		}
	}
	for env, dst := range map[string]*string{"TOIL_SWITCHES": &raw.Switches, "TOIL_SETUP_TIMEOUT": &raw.SetupTimeout, "TOIL_STOP_TIMEOUT": &raw.StopTimeout} {
		if v, ok := lookup(env); ok && v != "" {
			*dst = v
		}
	}
	s.switches = raw.Switches
	for _, d := range []struct {
		name string
		raw  string
		dst  *time.Duration
	}{{"setup_timeout", raw.SetupTimeout, &s.setupTimeout}, {"stop_timeout", raw.StopTimeout, &s.stopTimeout}} {
		if d.raw == "" {
			continue
		}
		v, err := time.ParseDuration(d.raw)
		if err != nil || v <= 0 {
			return s, usagef("toil %s %q: want a positive duration like 15s", d.name, d.raw)
		}
		*d.dst = v
	}
	return s, nil
}

// envSource reads the service's variables: TOIL_<SERVICE>_<KEY> and the
// fields' env tags. With a schema, only declared keys are read; without
// one, TOIL_HELLO_WORLD_MAX_CONNS is key max_conns and '__' nests (A__B is
// a.b).
func envSource(service string, sch *schema, environ func() []string, lookup func(string) (string, bool)) (source, []string) {
	s := source{vals: map[string]any{}, where: map[string]string{}}
	prefix := "TOIL_" + envName(service) + "_"
	byEnv := map[string]string{}
	if sch != nil {
		for _, l := range sch.leaves {
			byEnv[prefix+envName(l.key)] = l.key
			// The field's own name (REDIS_URL) ranks below TOIL_*: set it
			// first so the provider's values overwrite it.
			if l.env != "" {
				if v, ok := lookup(l.env); ok {
					s.vals[l.key] = v
					s.where[l.key] = "env " + l.env
				}
			}
		}
	}
	var unknown []string
	p := env.Provider(".", env.Opt{
		Prefix:      prefix,
		EnvironFunc: environ,
		TransformFunc: func(k, v string) (string, any) {
			key, ok := byEnv[k]
			if !ok {
				rest := strings.ToLower(strings.ReplaceAll(strings.TrimPrefix(k, prefix), "__", "."))
				if sch != nil && !sch.allows(rest) {
					unknown = append(unknown, k)
					return "", nil
				}
				key = rest
			}
			s.where[key] = "env " + k
			return key, v
		},
	})
	m, _ := p.Read() // the env provider never fails
	flat, _ := maps.Flatten(m, nil, ".")
	for k, v := range flat {
		s.vals[k] = v
	}
	sort.Strings(unknown)
	return s, unknown
}

// flagSource parses args. With a schema, every declared key is a flag and
// anything else is an error; without one, any --key=value is accepted.
// It also returns --config.
func flagSource(service string, sch *schema, args []string) (source, string, error) {
	s := source{vals: map[string]any{}, where: map[string]string{}}
	var config string
	for i := 0; i < len(args); i++ {
		arg := args[i]
		if arg == "--" {
			if i+1 < len(args) {
				return s, "", usagef("unexpected argument %q: a service takes only flags (--key=value)", args[i+1])
			}
			break
		}
		if !strings.HasPrefix(arg, "-") || arg == "-" {
			return s, "", usagef("unexpected argument %q: a service takes only flags (--key=value)", arg)
		}
		name, val, hasVal := strings.Cut(strings.TrimLeft(arg, "-"), "=")
		if name == "h" || name == "help" {
			return s, "", errHelp
		}
		takeNext := func() (string, error) {
			if i+1 >= len(args) || strings.HasPrefix(args[i+1], "--") {
				return "", usagef("flag --%s needs a value: --%s=VALUE", name, name)
			}
			i++
			return args[i], nil
		}
		if name == "config" {
			if !hasVal {
				v, err := takeNext()
				if err != nil {
					return s, "", err
				}
				val = v
			}
			config = val
			continue
		}
		key := strings.ReplaceAll(name, "-", "_")
		isBool := false
		if sch != nil {
			l, ok := sch.find(key)
			switch {
			case ok:
				key, isBool = l.key, l.typ.Kind() == reflect.Bool
			case sch.allows(key):
			default:
				return s, "", usageError{unknownFlag(name, sch)}
			}
		}
		if !hasVal {
			switch {
			case isBool:
				val = "true"
			case sch == nil && (i+1 >= len(args) || strings.HasPrefix(args[i+1], "-")):
				val = "true" // an untyped --verbose
			default:
				v, err := takeNext()
				if err != nil {
					return s, "", err
				}
				val = v
			}
		}
		s.vals[key] = val
		s.where[key] = "flag --" + name
	}
	return s, config, nil
}

func unknownFlag(name string, sch *schema) error {
	var flags []string
	for _, k := range sch.keys() {
		flags = append(flags, flagName(k))
	}
	msg := fmt.Sprintf("unknown flag --%s", name)
	if near := closest(flagName(name), flags); near != "" {
		msg += fmt.Sprintf(" (did you mean --%s?)", near)
	}
	return errors.New(msg + "; see --help")
}

func flagName(key string) string { return strings.ReplaceAll(key, "_", "-") }

// closest returns the candidate nearest to s by edit distance, if it is near
// enough to be a typo.
func closest(s string, candidates []string) string {
	best, bestD := "", len(s)/2+2
	for _, c := range candidates {
		if d := editDistance(s, c); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

// decodeSources applies sources in order onto out (a pointer holding the
// defaults), one key at a time so an error names the key and where it came
// from. Keys outside sch are errors for the file; env keys were filtered.
func decodeSources(out any, sch *schema, section string, srcs []source) error {
	for _, src := range srcs {
		keys := make([]string, 0, len(src.vals))
		for k := range src.vals {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, key := range keys {
			where := src.where[key]
			if !sch.allows(key) {
				msg := fmt.Sprintf("%s: unknown key %q in section %s", where, key, section)
				if near := closest(key, sch.keys()); near != "" {
					msg += fmt.Sprintf(" (did you mean %q?)", near)
				} else if len(sch.leaves) > 0 {
					msg += fmt.Sprintf(" (known: %s)", strings.Join(sch.keys(), ", "))
				}
				return usageError{errors.New(msg)}
			}
			val := src.vals[key]
			if err := decodeInto(out, nest(key, val)); err != nil {
				return usageError{decodeError(where, section, key, val, sch)}
			}
		}
	}
	return nil
}

func decodeError(where, section, key string, val any, sch *schema) error {
	l, ok := sch.find(key)
	if !ok {
		return fmt.Errorf("%s: %s.%s: cannot use %v", where, section, key, val)
	}
	shown := fmt.Sprintf("%q", fmt.Sprint(val))
	if l.secret {
		shown = "the value"
	}
	want := l.typ.String()
	switch {
	case l.typ == durationType:
		want = "duration like 5s or 1m30s"
	case l.typ.Kind() == reflect.Bool:
		want = "bool (true or false)"
	case l.typ.Kind() == reflect.Slice:
		want = "list (comma-separated in env and flags)"
	}
	article := "a"
	if strings.ContainsRune("aeiou", rune(want[0])) {
		article = "an"
	}
	return fmt.Errorf("%s: %s.%s: %s is not %s %s", where, section, l.key, shown, article, want)
}

// configError wraps a validation failure so it reads as a config problem.
func configError(section string, err error) error {
	return usageError{fmt.Errorf("config %s: %w", section, err)}
}

// usageText is --help.
func usageText(service string, sch *schema, mixins []*mixin) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Usage: %s [--config FILE] [flags]\n\n", service)
	fmt.Fprintf(&b, "Runs the service %s. Config comes from its defaults, then the %q section of\n", service, service)
	fmt.Fprintf(&b, "the config file (--config, TOIL_CONFIG, or ./toil.config.yaml), then the environment, then flags.\n\n")
	fmt.Fprintf(&b, "Flags:\n  --config FILE   the config file\n  -h, --help      this help\n")
	prefix := "TOIL_" + envName(service) + "_"
	if sch == nil {
		fmt.Fprintf(&b, "  --KEY=VALUE     any config key (this service reads its config untyped)\n")
		fmt.Fprintf(&b, "\nEnvironment: %sKEY sets key (lower-cased; __ nests).\n", prefix)
		return b.String()
	}
	for _, l := range sch.leaves {
		fmt.Fprintf(&b, "  --%s %s", flagName(l.key), typeName(l.typ))
		if l.help != "" {
			fmt.Fprintf(&b, "\n        %s", l.help)
		}
		envs := prefix + envName(l.key)
		if l.env != "" {
			envs += ", " + l.env
		}
		fmt.Fprintf(&b, "\n        env %s", envs)
		if l.def != "" {
			fmt.Fprintf(&b, "; default %s", l.def)
		}
		b.WriteString("\n")
	}
	for _, m := range mixins {
		if m.schema == nil {
			fmt.Fprintf(&b, "  --%s.KEY=VALUE   the %s mixin's config\n", m.section, m.field)
		}
	}
	return b.String()
}

func typeName(t reflect.Type) string {
	switch {
	case t == durationType:
		return "duration"
	case t.Kind() == reflect.Slice:
		return "list"
	case t.Kind() == reflect.Bool:
		return "(bool)"
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "int"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "uint"
	case reflect.Float32, reflect.Float64:
		return "float"
	}
	return "string"
}
