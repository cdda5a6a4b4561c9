package layout

import (
	"regexp"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

func (p *parser) backing(v *yaml.Node) []*Backing {
	v = resolve(v)
	if isNull(v) {
		return nil
	}
	if v.Kind != yaml.MappingNode {
		p.errorf(v, "backing: want a mapping of names to systems, like redis: {cmd: \"redis-server --port {port}\"}, got %s", describe(v))
		return nil
	}
	var out []*Backing
	for _, kv := range p.fields(v, "backing", nil, false) {
		out = append(out, p.backingOne(kv.k, kv.v))
	}
	return out
}

func (p *parser) backingOne(k, v *yaml.Node) *Backing {
	b := &Backing{Name: k.Value, Pos: pos(k)}
	path := "backing." + b.Name
	if !validName(b.Name) {
		p.errorf(k, "backing: %q is not a valid name: use lowercase letters, digits and '-'%s", b.Name, nameFix(b.Name))
	}
	v = resolve(v)
	if isNull(v) {
		p.errorf(k, "%s: empty; give it embedded: nats|redis, or cmd: \"a command with {port}\"", path)
		return b
	}
	if v.Kind != yaml.MappingNode {
		p.errorf(v, "%s: want a mapping like {embedded: nats} or {cmd: \"redis-server --port {port}\"}, got %s", path, describe(v))
		return b
	}
	var cmdKey, embKey, fallbackKey, kindKey, readyKey, portNode *yaml.Node
	var cmdWords []string
	for _, kv := range p.fields(v, path, backingKeys, false) {
		k, v := kv.k, kv.v
		kp := path + "." + k.Value
		switch k.Value {
		case "embedded":
			embKey = k
			if s, ok := p.str(v, kp, "nats or redis"); ok {
				if !slices.Contains(EmbeddedKinds, s) {
					p.errorf(v, "%s: toil cannot embed %q%s; it embeds %s (run anything else with cmd:)", kp, s, suggest(s, EmbeddedKinds), strings.Join(EmbeddedKinds, " and "))
				}
				b.Embedded = s
			}
		case "cmd":
			cmdKey = k
			if s, ok := p.str(v, kp, "a command line, like cmd: \"redis-server --port {port}\""); ok {
				b.Cmd = s
				cmdWords = p.command(v, kp, s)
			}
		case "kind":
			kindKey = v
			if s, ok := p.str(v, kp, "one of "+strings.Join(Kinds, ", ")); ok {
				if !slices.Contains(Kinds, s) {
					p.errorf(v, "%s: unknown kind %q%s; kinds: %s (leave kind: out for any other command)", kp, s, suggest(s, Kinds), strings.Join(Kinds, ", "))
				}
				b.Kind = s
			}
		case "fallback":
			fallbackKey = v
			if s, ok := p.str(v, kp, "embedded"); ok {
				if s != "embedded" {
					p.errorf(v, "%s: %q is not a fallback; the only one is embedded (the embedded server runs when the command is not installed)", kp, s)
				}
				b.Fallback = s
			}
		case "port":
			portNode = v
			p.mark(kp, v)
			if n, ok := p.integer(v, kp, "a port, like port: 6379"); ok {
				if n < 1 || n > 65535 {
					p.errorf(v, "%s: %d is out of range 1-65535 (leave port: out for a free port)", kp, n)
				} else {
					b.Port = n
				}
			}
		case "env":
			b.Env = p.env(v, kp, true)
		case "ready":
			readyKey = k
			b.Ready = p.probe(v, kp)
		case "stop_timeout":
			b.StopTimeout, _ = p.duration(v, kp)
		}
	}
	switch {
	case cmdKey != nil && embKey != nil:
		later := cmdKey
		if less(cmdKey, embKey) {
			later = embKey
		}
		p.errorf(later, "%s: has both embedded: and cmd:; keep one (fallback: embedded runs the embedded server when the command is missing)", path)
	case cmdKey == nil && embKey == nil && !slices.Contains(p.misspelt[v], "cmd") && !slices.Contains(p.misspelt[v], "embedded"):
		p.errorf(k, "%s: needs embedded: nats|redis, or cmd: \"a command with {port}\"", path)
	}
	if kindKey != nil && b.Embedded != "" && b.Kind != "" && b.Kind != b.Embedded {
		p.errorf(kindKey, "%s.kind: %q, but embedded: is %q; remove kind: (embedded: says it)", path, b.Kind, b.Embedded)
	}
	if b.Cmd != "" && cmdWords != nil && portNode == nil && !placeholderRE.MatchString(b.Cmd) {
		p.errorf(resolveVal(v, "cmd"), "%s.cmd: no {port}; put {port} where the command takes its port (like --port {port}), or set port: to the port it always uses", path)
	}
	if fallbackKey != nil && b.Fallback == "embedded" {
		kind := b.Kind
		if kind == "" && slices.Contains(Kinds, b.Name) {
			kind = b.Name
		}
		switch {
		case b.Cmd == "" && cmdKey == nil:
			p.errorf(fallbackKey, "%s.fallback: only a cmd: has a fallback; remove it", path)
		case !slices.Contains(EmbeddedKinds, kind):
			if kind == "" {
				p.errorf(fallbackKey, "%s.fallback: toil does not know what %s is, so it cannot embed one; set kind: nats or kind: redis if it is one of those, or remove fallback:", path, b.Name)
			} else {
				p.errorf(fallbackKey, "%s.fallback: there is no embedded %s; toil embeds %s: remove fallback:", path, kind, strings.Join(EmbeddedKinds, " and "))
			}
		}
	}
	if readyKey != nil && embKey != nil {
		p.errorf(readyKey, "%s.ready: embedded servers report readiness themselves; remove ready:", path)
	}
	return b
}

// probe reads ready: {tcp: true | http: /path | cmd: "...", timeout: 30s}.
func (p *parser) probe(v *yaml.Node, path string) Probe {
	var pr Probe
	v = resolve(v)
	if v.Kind != yaml.MappingNode {
		p.errorf(v, "%s: want a mapping like {http: /healthz} or {cmd: \"redis-cli -p {port} ping\", timeout: 30s}, got %s", path, describe(v))
		return pr
	}
	var checks []*yaml.Node
	for _, kv := range p.fields(v, path, probeKeys, false) {
		k, v := kv.k, kv.v
		kp := path + "." + k.Value
		switch k.Value {
		case "tcp":
			checks = append(checks, k)
			if on, ok := p.boolean(v, kp); ok && !on {
				p.errorf(v, "%s: false is no check; use http: or cmd:, or leave ready: out for the TCP check", kp)
			} else {
				pr.TCP = on
			}
		case "http":
			checks = append(checks, k)
			if s, ok := p.str(v, kp, "a path, like http: /healthz"); ok {
				if !strings.HasPrefix(s, "/") && !strings.HasPrefix(s, "http://") && !strings.HasPrefix(s, "https://") {
					p.errorf(v, "%s: %q is neither a path (/healthz) nor a URL (http://127.0.0.1:{port}/healthz)", kp, s)
				}
				p.placeholders(v, kp, s)
				pr.HTTP = s
			}
		case "cmd":
			checks = append(checks, k)
			if s, ok := p.str(v, kp, "a command line, like cmd: \"redis-cli -p {port} ping\""); ok {
				p.command(v, kp, s)
				pr.Cmd = s
			}
		case "timeout":
			pr.Timeout, _ = p.duration(v, kp)
		}
	}
	if len(checks) > 1 {
		p.errorf(checks[1], "%s: has both %s: and %s:; keep one check", path, checks[0].Value, checks[1].Value)
	}
	return pr
}

const portPlaceholder = "{port}"

var placeholderRE = regexp.MustCompile(`\{[^{}\s]*\}`)

// placeholders reports {x} in s other than {port}.
func (p *parser) placeholders(n *yaml.Node, path, s string) {
	for _, m := range placeholderRE.FindAllString(s, -1) {
		if m != portPlaceholder {
			p.errorf(n, "%s: unknown placeholder %s; the only one is {port}", path, m)
			return
		}
	}
}

// command checks a command line and returns its words (nil when invalid).
func (p *parser) command(n *yaml.Node, path, s string) []string {
	words, err := splitWords(s)
	if err != nil {
		p.errorf(n, "%s: %v", path, err)
		return nil
	}
	if len(words) == 0 {
		p.errorf(n, "%s: empty; want a command line", path)
		return nil
	}
	p.placeholders(n, path, s)
	return words
}
