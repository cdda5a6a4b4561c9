package layout

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// fields returns a mapping's key/value pairs, in order, with merge keys
// (<<: *anchor) expanded. Keys not in known (when known is not nil) are
// reported with a suggestion and dropped, as are duplicates and keys that
// are not plain names. allowX lets "x-" keys through silently: they hold
// anchors for the rest of the file, as in Compose files.
func (p *parser) fields(n *yaml.Node, path string, known []string, allowX bool) []pair {
	var out []pair
	for _, kv := range p.entries(n, path, 0) {
		k := kv.k
		if allowX && strings.HasPrefix(k.Value, "x-") {
			continue
		}
		if known != nil && !slices.Contains(known, k.Value) {
			where := path
			if where == "" {
				where = "top level"
			}
			hint := suggest(k.Value, known)
			if hint != "" {
				if p.misspelt == nil {
					p.misspelt = make(map[*yaml.Node][]string)
				}
				p.misspelt[n] = append(p.misspelt[n], closest(k.Value, known))
			}
			p.errorf(k, "%s: unknown key %q%s; known keys: %s", where, k.Value, hint, strings.Join(known, ", "))
			continue
		}
		out = append(out, kv)
	}
	return out
}

type pair struct{ k, v *yaml.Node }

// maxMerge bounds nested merge keys; maxMerges bounds the merges in one
// file, which anchors merging each other several times over would
// otherwise multiply without end.
const (
	maxMerge  = 8
	maxMerges = 10000
)

func (p *parser) entries(n *yaml.Node, path string, depth int) []pair {
	explicit := make(map[string]*yaml.Node)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		if isMerge(k) {
			continue
		}
		if k.Kind != yaml.ScalarNode || isNull(k) {
			p.errorf(k, "%s: keys must be plain names, not %s", orTop(path), describe(k))
			continue
		}
		if first, dup := explicit[k.Value]; dup {
			p.errorf(k, "%s: duplicate key %q (first at line %d); keep one", orTop(path), k.Value, first.Line)
			continue
		}
		explicit[k.Value] = k
	}
	var out []pair
	merged := make(map[string]bool)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if !isMerge(k) {
			if explicit[k.Value] == k {
				out = append(out, pair{k, v})
			}
			continue
		}
		if depth >= maxMerge {
			p.errorf(k, "%s: merge keys (<<) nested more than %d deep; does an anchor merge itself?", orTop(path), maxMerge)
			continue
		}
		v = resolve(v)
		var sources []*yaml.Node
		switch v.Kind {
		case yaml.MappingNode:
			sources = []*yaml.Node{v}
		case yaml.SequenceNode:
			for _, s := range v.Content {
				sources = append(sources, resolve(s))
			}
		}
		for _, src := range sources {
			if src.Kind != yaml.MappingNode {
				p.errorf(src, "%s: <<: merges mappings, like <<: *defaults; got %s", orTop(path), describe(src))
				continue
			}
			if slices.Contains(p.merging, src) || src == n {
				p.errorf(k, "%s: <<: merges a mapping into itself; merge another anchor", orTop(path))
				continue
			}
			if p.merges++; p.merges > maxMerges {
				if p.merges == maxMerges+1 {
					p.errorf(k, "%s: more than %d merges (<<) in the file; merge fewer anchors", orTop(path), maxMerges)
				}
				return out
			}
			p.merging = append(p.merging, n)
			srcEntries := p.entries(src, path, depth+1)
			p.merging = p.merging[:len(p.merging)-1]
			for _, kv := range srcEntries {
				// Explicit keys win over merged ones, earlier merges over
				// later ones (YAML's merge key rules).
				if explicit[kv.k.Value] == nil && !merged[kv.k.Value] {
					merged[kv.k.Value] = true
					out = append(out, kv)
				}
			}
		}
		if len(sources) == 0 {
			p.errorf(v, "%s: <<: merges mappings, like <<: *defaults; got %s", orTop(path), describe(v))
		}
	}
	return out
}

func orTop(path string) string {
	if path == "" {
		return "top level"
	}
	return path
}

func isMerge(k *yaml.Node) bool { return k.Kind == yaml.ScalarNode && k.Tag == "!!merge" }

// maxAlias bounds alias chains.
const maxAlias = 16

// resolve follows aliases to the node they name.
func resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n.Kind == yaml.AliasNode && n.Alias != nil && i < maxAlias; i++ {
		n = n.Alias
	}
	return n
}

// resolveVal is the value of key in mapping n (for positions), or n.
func resolveVal(n *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n.Kind == 0 || n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// describe names what a node is, for "want X, got Y".
func describe(n *yaml.Node) string {
	n = resolve(n)
	switch {
	case isNull(n):
		return "nothing"
	case n.Kind == yaml.MappingNode:
		return "a mapping"
	case n.Kind == yaml.SequenceNode:
		return "a list"
	case n.Kind == yaml.AliasNode:
		return "an alias"
	default:
		return strconv.Quote(n.Value)
	}
}

func (p *parser) str(n *yaml.Node, path, want string) (string, bool) {
	n = resolve(n)
	if n.Kind != yaml.ScalarNode || isNull(n) {
		p.errorf(n, "%s: want %s, got %s", path, want, describe(n))
		return "", false
	}
	if n.Value == "" {
		p.errorf(n, "%s: empty; want %s", path, want)
		return "", false
	}
	return n.Value, true
}

func (p *parser) integer(n *yaml.Node, path, want string) (int, bool) {
	n = resolve(n)
	var v int
	switch {
	case n.Kind == yaml.ScalarNode && n.ShortTag() == "!!int" && n.Decode(&v) == nil:
		return v, true
	case n.Kind == yaml.ScalarNode && n.ShortTag() == "!!str" && isDigits(n.Value):
		p.errorf(n, "%s: want a number, got the string %q; remove the quotes", path, n.Value)
	default:
		p.errorf(n, "%s: want %s, got %s", path, want, describe(n))
	}
	return 0, false
}

func isDigits(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == "" && len(s) < 10
}

func (p *parser) boolean(n *yaml.Node, path string) (bool, bool) {
	n = resolve(n)
	var v bool
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!bool" && n.Decode(&v) == nil {
		return v, true
	}
	p.errorf(n, "%s: want true or false, got %s", path, describe(n))
	return false, false
}

func (p *parser) duration(n *yaml.Node, path string) (time.Duration, bool) {
	n = resolve(n)
	if n.Kind != yaml.ScalarNode || isNull(n) {
		p.errorf(n, "%s: want a duration like 10s, got %s", path, describe(n))
		return 0, false
	}
	if t := n.ShortTag(); t == "!!int" || t == "!!float" {
		p.errorf(n, "%s: %s has no unit; write %ss (or ms, m)", path, n.Value, n.Value)
		return 0, false
	}
	d, err := time.ParseDuration(n.Value)
	switch {
	case err != nil:
		p.errorf(n, "%s: %q is not a duration; write it like 10s, 1m30s or 500ms", path, n.Value)
	case d <= 0:
		p.errorf(n, "%s: %s; want more than 0", path, n.Value)
	default:
		return d, true
	}
	return 0, false
}

// list reads a list of non-empty strings; scalarOK also takes one string
// for a list of one.
func (p *parser) list(n *yaml.Node, path, want, itemWant string, scalarOK bool) []string {
	n = resolve(n)
	if scalarOK && n.Kind == yaml.ScalarNode && !isNull(n) {
		if s, ok := p.str(n, path, itemWant); ok {
			return []string{s}
		}
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		p.errorf(n, "%s: want %s, got %s", path, want, describe(n))
		return nil
	}
	out := make([]string, 0, len(n.Content))
	for i, it := range n.Content {
		if s, ok := p.str(it, fmt.Sprintf("%s[%d]", path, i), itemWant); ok {
			out = append(out, s)
		}
	}
	return out
}

// item is the i-th node of a list, or the node itself for a scalar used as
// a list of one.
func item(n *yaml.Node, i int) *yaml.Node {
	n = resolve(n)
	if n.Kind == yaml.SequenceNode && i < len(n.Content) {
		return n.Content[i]
	}
	return n
}

var envNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// env reads NAME: value pairs; withPort allows the {port} placeholder in
// values (backing systems).
func (p *parser) env(n *yaml.Node, path string, withPort bool) Env {
	n = resolve(n)
	out := Env{}
	if isNull(n) {
		return out
	}
	if n.Kind != yaml.MappingNode {
		p.errorf(n, "%s: want a mapping of variables, like {LOG_LEVEL: debug}, got %s", path, describe(n))
		return out
	}
	for _, kv := range p.fields(n, path, nil, false) {
		k, v := kv.k, resolve(kv.v)
		kp := path + "." + k.Value
		if !envNameRE.MatchString(k.Value) {
			p.errorf(k, "%s: %q is not a variable name: use letters, digits and '_', not starting with a digit", path, k.Value)
			continue
		}
		if what, ok := reservedEnv[k.Value]; ok {
			fix := "remove it"
			if what != "" {
				fix += " (" + what + " sets it)"
			}
			p.errorf(k, "%s: toil sets %s for each worker (the worker protocol); %s", kp, k.Value, fix)
			continue
		}
		if v.Kind != yaml.ScalarNode || isNull(v) {
			p.errorf(v, "%s: want a value, got %s; write %s: \"\" for an empty one", kp, describe(v), k.Value)
			continue
		}
		if withPort {
			p.placeholders(v, kp, v.Value)
		}
		out[k.Value] = v.Value
	}
	return out
}
