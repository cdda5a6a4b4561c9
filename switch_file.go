package toil

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"
	"go.yaml.in/yaml/v3"
)

// switchFileFields lists a switch mapping's fields, for error messages.
const switchFileFields = "state, percent, by, allow, deny"

// switchDebounce is how long Watch waits after the last event before it reloads, so that an
// editor's truncate-then-write or write-then-rename is read once, whole.
const switchDebounce = 50 * time.Millisecond

// LoadSwitches reads the switches file at path; Watch follows its changes, Reload re-reads
// it. An error names the file and line and says what is allowed.
//
// The file (YAML; JSON is YAML too) maps each switch name to on, off, or a mapping whose
// fields are those of Switch:
//
//	checkout: on              # on for everyone
//	legacy_search: off        # off for everyone
//	scorer:                   # the parent of every scorer:* switch
//	  percent: 50
//	scorer:v2:                # active only where scorer is active, for the same keys
//	  percent: 12.5           # share of keys, 0–100, fractional allowed (also "12.5%")
//	  by: user                # hash the first key of kind "user" (default: the first key)
//	  allow: [user:42, "7"]   # active for these keys whatever the percentage
//	  deny: [user:13]         # inactive for these keys whatever else says
//	  state: selective        # selective (default), on (all but deny), off (none; keeps the rest)
//
// An allow or deny entry matches a key whose value is the entry ("7"), or whose kind and
// value joined by a colon are the entry ("user:42" matches toil.KeyOf("user", 42)). Without
// a key, a percentage below 100 is off. A switch not in the file is off. An empty file
// defines none. YAML anchors and aliases can share a list between switches.
func LoadSwitches(path string) (*Switches, error) {
	s := &Switches{path: path}
	if err := s.Reload(); err != nil {
		return nil, err
	}
	return s, nil
}

// Reload re-reads the file the set was loaded from and swaps the new set in (the SIGHUP path).
// On error the current set stays in force. It replaces what Set defined, too.
func (s *Switches) Reload() error {
	if s.path == "" {
		return errors.New("reload switches: this set was not loaded from a file; create it with LoadSwitches")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	data, err := os.ReadFile(s.path)
	if err != nil {
		return fmt.Errorf("load switches: %w", err)
	}
	defs, err := parseSwitches(s.path, data)
	if err != nil {
		return err
	}
	s.replace(defs)
	return nil
}

// Watch reloads the set whenever its file changes, until ctx is done; then it returns nil.
// It watches the file's directory, so editors' atomic renames, a deleted and recreated file
// and Kubernetes' ConfigMap symlink swaps are all seen; bursts of events are debounced. A file
// that does not load leaves the current set in force and is reported to onErr (which may be
// nil); so are watcher errors. Watch re-reads the file once when the watch is in place, so a
// change made since LoadSwitches is not missed, and Changed fires then: wait on it to know
// the watch has started.
func (s *Switches) Watch(ctx context.Context, onErr func(error)) error {
	if s.path == "" {
		return errors.New("watch switches: this set was not loaded from a file; create it with LoadSwitches")
	}
	report := func(err error) {
		if err != nil && onErr != nil {
			onErr(err)
		}
	}
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("watch switches %s: %w", s.path, err)
	}
	defer w.Close()
	dir, base := filepath.Split(filepath.Clean(s.path))
	if dir == "" {
		dir = "."
	}
	if err := w.Add(dir); err != nil {
		return fmt.Errorf("watch switches %s: %w", s.path, err)
	}
	// A symlinked file (a Kubernetes ConfigMap) changes through a swap of another link in the
	// directory, so every event there counts.
	fi, err := os.Lstat(s.path)
	anyEvent := err == nil && fi.Mode()&os.ModeSymlink != 0

	report(s.Reload())

	debounce := time.NewTimer(switchDebounce)
	debounce.Stop()
	defer debounce.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-w.Events:
			if !ok {
				return nil
			}
			if anyEvent || filepath.Base(ev.Name) == base {
				debounce.Reset(switchDebounce)
			}
		case err, ok := <-w.Errors:
			if !ok {
				return nil
			}
			report(fmt.Errorf("watch switches %s: %w", s.path, err))
		case <-debounce.C:
			report(s.Reload())
		}
	}
}

// ParseSwitch reads one switch's definition written as in a switches file: on, off, or a
// mapping of its fields, in YAML or JSON ({"percent": 10, "allow": ["user:42"]}). It is for
// stores that keep one value per switch, such as a Redis hash. Errors name the switch and say
// what is allowed.
func ParseSwitch(name string, value []byte) (Switch, error) {
	if err := checkSwitchName(name); err != nil {
		return Switch{}, err
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(value, &doc); err != nil {
		return Switch{}, fmt.Errorf("switch %q: %s (write on, off, or a mapping of %s)", name, strings.TrimPrefix(err.Error(), "yaml: "), switchFileFields)
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return Switch{}, fmt.Errorf("switch %q is empty; write on, off, or a mapping of %s", name, switchFileFields)
	}
	sw, err := parseSwitch(name, switchDeref(doc.Content[0]))
	if err != nil {
		// parseSwitch starts its errors with a line number, which a one-value store has no use for.
		msg := err.Error()
		if _, rest, ok := strings.Cut(msg, ": "); ok {
			msg = rest
		}
		return Switch{}, errors.New(msg)
	}
	return sw, nil
}

// parseSwitches reads a switches file. Errors read "path:line: what is wrong; what is allowed".
func parseSwitches(path string, data []byte) (map[string]Switch, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, switchYAMLError(path, err)
	}
	defs := map[string]Switch{}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return defs, nil // an empty file (or only comments): no switches
	}
	root := switchDeref(doc.Content[0])
	if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
		return defs, nil
	}
	if root.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%s:%d: the file must map switch names to on, off or a mapping of %s", path, root.Line, switchFileFields)
	}
	lines := map[string]int{}
	for i := 0; i+1 < len(root.Content); i += 2 {
		kn, vn := root.Content[i], switchDeref(root.Content[i+1])
		name := kn.Value
		if err := checkSwitchName(name); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, kn.Line, err)
		}
		if prev, dup := lines[name]; dup {
			return nil, fmt.Errorf("%s:%d: switch %q is defined twice (first at line %d); keep one", path, kn.Line, name, prev)
		}
		lines[name] = kn.Line
		sw, err := parseSwitch(name, vn)
		if err != nil {
			return nil, fmt.Errorf("%s:%w", path, err)
		}
		defs[name] = sw
	}
	return defs, nil
}

// switchYAMLError turns yaml's "yaml: line 3: msg" into "path:3: msg".
func switchYAMLError(path string, err error) error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if n, after, ok := strings.Cut(rest, ": "); ok {
			if _, err := strconv.Atoi(n); err == nil {
				return fmt.Errorf("%s:%s: %s (is it YAML, with each switch as name: on|off|{%s}?)", path, n, after, switchFileFields)
			}
		}
	}
	return fmt.Errorf("%s: %s", path, msg)
}

// switchDeref follows YAML aliases, so an allow-list can be shared with &anchor / *alias.
func switchDeref(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

func checkSwitchName(name string) error {
	if name == "" {
		return errors.New("a switch has an empty name; name it like scorer or scorer:v2")
	}
	if strings.ContainsAny(name, " \t\r\n") {
		return fmt.Errorf("switch name %q contains white space; name it like scorer or scorer:v2", name)
	}
	for seg := range strings.SplitSeq(name, ":") {
		if seg == "" {
			return fmt.Errorf("switch name %q has an empty part; parts are joined by single colons, parent first, like scorer:v2", name)
		}
	}
	return nil
}

// parseSwitch reads one switch's value. Errors start with "line: ", for the caller's path.
func parseSwitch(name string, n *yaml.Node) (Switch, error) {
	var sw Switch
	switch n.Kind {
	case yaml.ScalarNode:
		st, ok := parseSwitchState(n.Value)
		if !ok || st == SwitchSelective || n.Tag == "!!null" {
			return sw, fmt.Errorf("%d: switch %q is %q; write on, off, or a mapping of %s", n.Line, name, n.Value, switchFileFields)
		}
		sw.State = st
		return sw, nil
	case yaml.MappingNode:
	default:
		return sw, fmt.Errorf("%d: switch %q must be on, off, or a mapping of %s", n.Line, name, switchFileFields)
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		kn, vn := n.Content[i], switchDeref(n.Content[i+1])
		field := kn.Value
		if seen[field] {
			return sw, fmt.Errorf("%d: switch %q sets %s twice; keep one", kn.Line, name, field)
		}
		seen[field] = true
		var err error
		switch field {
		case "state":
			var ok bool
			sw.State, ok = parseSwitchState(vn.Value)
			if !ok || vn.Kind != yaml.ScalarNode {
				err = fmt.Errorf("%d: switch %q has state %q; use selective, on or off", vn.Line, name, vn.Value)
			}
		case "percent":
			sw.Percent, err = parseSwitchPercent(name, vn)
		case "by":
			sw.By = vn.Value
			if vn.Kind != yaml.ScalarNode || vn.Tag == "!!null" || sw.By == "" {
				err = fmt.Errorf("%d: switch %q: by must name a key kind, like by: user (the kind given to toil.KeyOf)", vn.Line, name)
			}
		case "allow":
			sw.Allow, err = parseSwitchList(name, field, vn)
		case "deny":
			sw.Deny, err = parseSwitchList(name, field, vn)
		default:
			err = fmt.Errorf("%d: switch %q has unknown field %q; the fields are %s", kn.Line, name, field, switchFileFields)
		}
		if err != nil {
			return sw, err
		}
	}
	return sw, nil
}

func parseSwitchPercent(name string, n *yaml.Node) (float64, error) {
	bad := fmt.Errorf("%d: switch %q has percent %q; use a number from 0 to 100, like 25 or 0.5", n.Line, name, n.Value)
	if n.Kind != yaml.ScalarNode {
		return 0, bad
	}
	p, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(n.Value, "%")), 64)
	if err != nil || math.IsNaN(p) || p < 0 || p > 100 {
		return 0, bad
	}
	return p, nil
}

func parseSwitchList(name, field string, n *yaml.Node) ([]string, error) {
	if n.Kind != yaml.SequenceNode {
		return nil, fmt.Errorf("%d: switch %q: %s must be a list of key values, like %s: [user:42, \"7\"]", n.Line, name, field, field)
	}
	list := make([]string, 0, len(n.Content))
	for _, e := range n.Content {
		e = switchDeref(e)
		if e.Kind != yaml.ScalarNode || e.Tag == "!!null" || e.Value == "" {
			return nil, fmt.Errorf("%d: switch %q: each %s entry must be a key value, like user:42 or \"7\"", e.Line, name, field)
		}
		list = append(list, e.Value)
	}
	return list, nil
}
