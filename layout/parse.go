package layout

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// The keys each mapping accepts, sorted, as messages list them.
var (
	topKeys     = []string{"backing", "env", "lint", "name", "proxy", "services"}
	serviceKeys = []string{"args", "config", "depends", "env", "listen", "main", "procs", "ready_timeout", "run", "stop_timeout", "watch"}
	proxyKeys   = []string{"connect_timeout", "idle_timeout", "listen", "read_timeout", "routes", "write_timeout"}
	routeKeys   = []string{"path", "strip_prefix", "to"}
	backingKeys = []string{"cmd", "embedded", "env", "fallback", "kind", "port", "ready", "stop_timeout"}
	probeKeys   = []string{"cmd", "http", "timeout", "tcp"}
)

// reservedEnv are the variables toil sets for each worker (the worker
// protocol): a layout setting them would break it.
var reservedEnv = map[string]string{
	"LISTEN_FDS":      "listen:",
	"LISTEN_FDNAMES":  "listen:",
	"LISTEN_PID":      "listen:",
	"NOTIFY_SOCKET":   "",
	"PORT":            "listen:",
	"TOIL_ADMIN_ADDR": "",
	"TOIL_ENV":        "",
	"TOIL_SERVICE":    "",
	"TOIL_WORKER":     "procs:",
}

// Parse reads a layout from data; name is the file's path, for messages and
// [Layout.Dir]. The result is validated and defaulted; every problem found
// comes back together as [Errors], sorted by line.
func Parse(name string, data []byte) (*Layout, error) {
	p := &parser{file: name}
	l := p.parse(data)
	if len(p.errs) > 0 {
		p.errs.sort()
		// A problem inside an anchor is found once per use: say it once.
		p.errs = slices.CompactFunc(p.errs, func(a, b *Error) bool { return *a == *b })
		return nil, p.errs
	}
	l.Default()
	return l, nil
}

// parser collects errors while walking the YAML tree, so one run reports
// every problem.
type parser struct {
	file string
	errs Errors
	// at is where values checked against the whole layout were written
	// ("services.web.listen", "proxy.routes[0].to"), so those errors point
	// at the value, not its section.
	at map[string]Pos
	// misspelt are the known keys suggested for unknown ones, per mapping:
	// "needs routes:" is noise after `unknown key "route" (did you mean
	// "routes"?)`.
	misspelt map[*yaml.Node][]string
	// merging are the mappings being merged (<<:) right now, to catch an
	// anchor merging itself; merges counts all merges, to bound anchors
	// that merge each other many times over.
	merging []*yaml.Node
	merges  int
}

// missing reports key missing from mapping n, unless an unknown key there
// was already reported as its misspelling.
func (p *parser) missing(n *yaml.Node, key string, format string, args ...any) {
	if slices.Contains(p.misspelt[n], key) {
		return
	}
	p.errorf(n, format, args...)
}

// mark records where the value at path is.
func (p *parser) mark(path string, n *yaml.Node) {
	if p.at == nil {
		p.at = make(map[string]Pos)
	}
	p.at[path] = pos(resolve(n))
}

// marked reports whether a value was recorded at path.
func (p *parser) marked(path string) bool {
	_, ok := p.at[path]
	return ok
}

// node is a stand-in node at path's recorded position, else at def.
func (p *parser) node(path string, def Pos) *yaml.Node {
	if at, ok := p.at[path]; ok {
		def = at
	}
	return &yaml.Node{Line: def.Line, Column: def.Col}
}

func (p *parser) errorf(n *yaml.Node, format string, args ...any) {
	e := &Error{File: p.file, Msg: fmt.Sprintf(format, args...)}
	if n != nil {
		e.Line, e.Col = n.Line, n.Column
	}
	p.errs = append(p.errs, e)
}

var (
	yamlLineRE   = regexp.MustCompile(`^yaml: (?:line (\d+): )?(.*)$`)
	yamlAnchorRE = regexp.MustCompile(`^unknown anchor '(.*)' referenced$`)
)

// parserProblems are the messages of the YAML parser proper (not its
// scanner). go.yaml.in/yaml/v3 numbers their lines from 0, and gives the
// line where the enclosing collection began, not where the problem is.
var parserProblems = map[string]string{
	"did not find expected ',' or '}'":       "; a { opened here is not closed, or a comma is missing",
	"did not find expected ',' or ']'":       "; a [ opened here is not closed, or a comma is missing",
	"did not find expected key":              "; check the indentation below this line",
	"did not find expected '-' indicator":    "; check the indentation of this list",
	"did not find expected node content":     "",
	"did not find expected <document start>": "",
	"did not find expected <stream-start>":   "",
	"found undefined tag handle":             "",
	"found duplicate %YAML directive":        "",
	"found incompatible YAML document":       "",
	"found duplicate %TAG directive":         "",
}

// yamlError turns the YAML parser's error into an Error at its line.
func (p *parser) yamlError(err error, data []byte) {
	m := yamlLineRE.FindStringSubmatch(err.Error())
	if m == nil {
		p.errorf(nil, "invalid YAML: %v", err)
		return
	}
	e := &Error{File: p.file, Msg: "invalid YAML: " + m[2]}
	e.Line, _ = strconv.Atoi(m[1])
	if hint, ok := parserProblems[m[2]]; ok {
		e.Line++
		e.Msg += hint
	}
	if a := yamlAnchorRE.FindStringSubmatch(m[2]); a != nil {
		// The decoder does not say where: find the first use.
		for i, line := range strings.Split(string(data), "\n") {
			if c := strings.Index(line, "*"+a[1]); c >= 0 {
				e.Line, e.Col = i+1, c+1
				e.Msg += "; define it first with &" + a[1]
				break
			}
		}
	}
	// The scanner's words for a tab are cryptic, and a tab is the usual
	// cause: say so, and where.
	for i, line := range bytes.Split(data, []byte("\n")) {
		indent := line[:len(line)-len(bytes.TrimLeft(line, " \t"))]
		if t := bytes.IndexByte(indent, '\t'); t >= 0 && (e.Line == 0 || e.Line == i+1) {
			e.Line, e.Col = i+1, t+1
			e.Msg += "; YAML does not allow tabs for indentation: indent with spaces"
			break
		}
	}
	p.errs = append(p.errs, e)
}

func (p *parser) parse(data []byte) *Layout {
	l := &Layout{File: p.file, Dir: filepath.Dir(p.file)}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil && !errors.Is(err, io.EOF) {
		p.yamlError(err, data)
		return l
	}
	if len(doc.Content) == 0 {
		p.errorf(nil, "the file is empty; a layout needs at least name: and services: (see toil's layout/README.md)")
		return l
	}
	var second yaml.Node
	if err := dec.Decode(&second); err == nil {
		p.errorf(&second, "a second YAML document (after ---); toil.yaml holds one layout: remove it or merge it into the first")
	} else if !errors.Is(err, io.EOF) {
		p.yamlError(err, data)
	}
	top := resolve(doc.Content[0])
	if top.Kind != yaml.MappingNode {
		p.errorf(top, "want a mapping with keys %s, got %s", strings.Join(topKeys, ", "), describe(top))
		return l
	}

	hasName, hasServices := false, false
	for _, kv := range p.fields(top, "", topKeys, true) {
		switch k, v := kv.k, kv.v; k.Value {
		case "name":
			hasName = true
			if s, ok := p.str(v, "name", "the system's name, like name: tempest"); ok {
				if !validName(s) {
					p.errorf(v, "name: %q is not a valid name: use lowercase letters, digits and '-'%s (it names the systemd target and the Kubernetes app)", s, nameFix(s))
				}
				l.Name = s
			}
		case "services":
			hasServices = true
			l.Services = p.services(k, v)
		case "proxy":
			l.Proxy = p.proxy(k, v)
		case "backing":
			l.Backing = p.backing(v)
		case "env":
			l.Env = p.env(v, "env", false)
		case "lint":
			l.Lint = *resolve(v) // the analyzers' to read and judge
		}
	}
	if !hasName {
		p.missing(top, "name", "name: missing; add name: at the top, like name: tempest (it names the systemd target and the Kubernetes app)")
	}
	if !hasServices {
		p.missing(top, "services", "services: missing; add at least one, like services: {web: {run: app.web, listen: \"127.0.0.1:8080\"}}")
	}
	p.check(l)
	return l
}

func (p *parser) services(key, v *yaml.Node) []*Service {
	v = resolve(v)
	if isNull(v) || v.Kind == yaml.MappingNode && len(v.Content) == 0 {
		p.errorf(key, "services: none; add at least one, like web: {run: app.web, listen: \"127.0.0.1:8080\"}")
		return nil
	}
	if v.Kind != yaml.MappingNode {
		p.errorf(v, "services: want a mapping of names to services, like web: {run: app.web}, got %s", describe(v))
		return nil
	}
	var out []*Service
	for _, kv := range p.fields(v, "services", nil, false) {
		out = append(out, p.service(kv.k, kv.v))
	}
	return out
}

func (p *parser) service(k, v *yaml.Node) *Service {
	s := &Service{Name: k.Value, Pos: pos(k)}
	path := "services." + s.Name
	if !validName(s.Name) {
		p.errorf(k, "services: %q is not a valid service name: use lowercase letters, digits and '-'%s, as systemd units and Kubernetes objects need", s.Name, nameFix(s.Name))
	}
	v = resolve(v)
	if isNull(v) {
		p.errorf(k, "%s: empty; give it run: PKG.NAME (a toil service) or main: ./path (a main package)", path)
		return s
	}
	if v.Kind != yaml.MappingNode {
		p.errorf(v, "%s: want a mapping like {run: app.%s, procs: 2}, got %s", path, s.Name, describe(v))
		return s
	}
	var runKey, mainKey *yaml.Node
	for _, kv := range p.fields(v, path, serviceKeys, false) {
		k, v := kv.k, kv.v
		kp := path + "." + k.Value
		switch k.Value {
		case "run":
			runKey = k
			if r, ok := p.str(v, kp, "PKG.NAME, like run: tempest.scorer"); ok {
				if msg := checkRun(r); msg != "" {
					p.errorf(v, "%s: %q is not PKG.NAME: %s", kp, r, msg)
				}
				s.Run = r
			}
		case "main":
			mainKey = k
			if m, ok := p.str(v, kp, "a main package, like main: ./cmd/legacy"); ok {
				if msg := checkMain(m); msg != "" {
					p.errorf(v, "%s: %s", kp, msg)
				}
				s.Main = m
			}
		case "args":
			s.Args = p.list(v, kp, "a list of arguments, like args: [--verbose]", "an argument", false)
		case "procs":
			if n, ok := p.integer(v, kp, "a number of workers, like procs: 2"); ok {
				switch {
				case n < 1:
					p.errorf(v, "%s: %d workers; a service runs at least 1 (remove the service to run none)", kp, n)
				case n > MaxProcs:
					p.errorf(v, "%s: %d workers is more than the %d a service may run; is it a typo?", kp, n, MaxProcs)
				default:
					s.Procs = n
				}
			}
		case "listen":
			p.mark(kp, v)
			s.Listen, _ = p.listen(v, kp, true)
		case "env":
			s.Env = p.env(v, kp, false)
		case "config":
			s.Config = p.list(v, kp, "files, like config: [toil.config.yaml]", "a file path", true)
			for i, c := range s.Config {
				if strings.ContainsAny(c, "*?[") {
					p.errorf(item(v, i), "%s: %q is a glob; list the files themselves (watch: takes globs)", kp, c)
				}
			}
		case "watch":
			s.Watch = p.list(v, kp, "globs, like watch: [templates/**/*.html]", "a glob", true)
			for i, w := range s.Watch {
				if msg := checkGlob(w); msg != "" {
					p.errorf(item(v, i), "%s: %q %s", kp, w, msg)
				}
			}
		case "depends":
			s.Depends = p.list(v, kp, "names of services or backing systems, like depends: [redis]", "a service or backing name", true)
			for i := range s.Depends {
				p.mark(fmt.Sprintf("%s[%d]", kp, i), item(v, i))
			}
		case "stop_timeout":
			s.StopTimeout, _ = p.duration(v, kp)
		case "ready_timeout":
			s.ReadyTimeout, _ = p.duration(v, kp)
		}
	}
	switch {
	case runKey != nil && mainKey != nil:
		later := runKey
		if less(runKey, mainKey) {
			later = mainKey
		}
		p.errorf(later, "%s: has both run: and main:; keep one: run: for a toil service (PKG.NAME), main: for any main package", path)
	case runKey == nil && mainKey == nil && !slices.Contains(p.misspelt[v], "run") && !slices.Contains(p.misspelt[v], "main"):
		p.errorf(k, "%s: needs run: PKG.NAME (a toil service) or main: ./path (a main package)", path)
	}
	return s
}

func (p *parser) proxy(key, v *yaml.Node) *Proxy {
	v = resolve(v)
	if isNull(v) {
		return nil // proxy: with nothing under it is no proxy
	}
	if v.Kind != yaml.MappingNode {
		p.errorf(v, "proxy: want a mapping like {listen: \"127.0.0.1:8000\", routes: [{path: /, to: web}]}, got %s", describe(v))
		return nil
	}
	px := &Proxy{Pos: pos(key)}
	var routes *yaml.Node
	hasListen := false
	for _, kv := range p.fields(v, "proxy", proxyKeys, false) {
		k, v := kv.k, kv.v
		kp := "proxy." + k.Value
		switch k.Value {
		case "listen":
			hasListen = true
			p.mark(kp, v)
			px.Listen, _ = p.listen(v, kp, false)
		case "routes":
			routes = v
			px.Routes = p.routes(v)
		case "connect_timeout":
			px.ConnectTimeout, _ = p.duration(v, kp)
		case "read_timeout":
			px.ReadTimeout, _ = p.duration(v, kp)
		case "write_timeout":
			px.WriteTimeout, _ = p.duration(v, kp)
		case "idle_timeout":
			px.IdleTimeout, _ = p.duration(v, kp)
		}
	}
	if !hasListen && !slices.Contains(p.misspelt[v], "listen") {
		p.errorf(key, "proxy: needs listen:, the address to open in a browser, like listen: \"127.0.0.1:8000\"")
	}
	if routes == nil && !slices.Contains(p.misspelt[v], "routes") {
		p.errorf(key, "proxy: no routes; add routes: [{path: /, to: SERVICE}], or remove proxy:")
	}
	return px
}

func (p *parser) routes(v *yaml.Node) []Route {
	v = resolve(v)
	if v.Kind != yaml.SequenceNode {
		p.errorf(v, "proxy.routes: want a list like [{path: /, to: web}], got %s", describe(v))
		return nil
	}
	if len(v.Content) == 0 {
		p.errorf(v, "proxy.routes: empty; add one, like [{path: /, to: web}], or remove proxy:")
	}
	var out []Route
	for i, rn := range v.Content {
		rn = resolve(rn)
		path := fmt.Sprintf("proxy.routes[%d]", i)
		if rn.Kind != yaml.MappingNode {
			p.errorf(rn, "%s: want a mapping like {path: /, to: web}, got %s", path, describe(rn))
			continue
		}
		r := Route{Pos: pos(rn)}
		var hasPath, hasTo bool
		for _, kv := range p.fields(rn, path, routeKeys, false) {
			k, v := kv.k, kv.v
			kp := path + "." + k.Value
			switch k.Value {
			case "path":
				hasPath = true
				p.mark(kp, v)
				if s, ok := p.str(v, kp, "a path prefix, like path: /api"); ok {
					clean, msg := checkRoutePath(s)
					if msg != "" {
						p.errorf(v, "%s: %q %s", kp, s, msg)
					}
					r.Path = clean
				}
			case "to":
				hasTo = true
				p.mark(kp, v)
				r.To, _ = p.str(v, kp, "a service name, like to: web")
			case "strip_prefix":
				r.StripPrefix, _ = p.boolean(v, kp)
			}
		}
		if !hasPath {
			p.missing(rn, "path", "%s: needs path:, the prefix it serves, like path: /", path)
		}
		if !hasTo {
			p.missing(rn, "to", "%s: needs to:, the service it goes to", path)
		}
		out = append(out, r)
	}
	return out
}

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

// check runs the validations that need the whole layout: references
// between sections, unique names, port clashes, dependency cycles.
func (p *parser) check(l *Layout) {
	seen := make(map[string]Pos)
	for _, s := range l.Services {
		seen[s.Name] = s.Pos
	}
	for _, b := range l.Backing {
		if at, ok := seen[b.Name]; ok {
			p.errorf(&yaml.Node{Line: b.Pos.Line, Column: b.Pos.Col}, "backing: %q is also the name of a service (line %d); rename one, as depends: names either", b.Name, at.Line)
		}
	}
	if px := l.Proxy; px != nil {
		paths := make(map[string]int)
		for i, r := range px.Routes {
			rp := fmt.Sprintf("proxy.routes[%d]", i)
			if r.Path != "" {
				if line, dup := paths[r.Path]; dup {
					p.errorf(p.node(rp+".path", r.Pos), "%s.path: %q is already routed at line %d; keep one route per path", rp, r.Path, line)
				} else {
					paths[r.Path] = r.Pos.Line
				}
			}
			if r.To == "" {
				continue
			}
			s := l.Service(r.To)
			switch {
			case s == nil:
				p.errorf(p.node(rp+".to", r.Pos), "%s.to: no service %q%s; there are %s", rp, r.To, suggest(r.To, serviceNames(l)), strings.Join(serviceNames(l), ", "))
			case s.Listen.IsZero() && !p.marked("services."+s.Name+".listen"):
				// (A listen: that is there but invalid has its own error.)
				p.errorf(p.node(rp+".to", r.Pos), "%s.to: service %q has no listen address, so the proxy cannot reach it; add listen: auto (or an address) to services.%s", rp, r.To, r.To)
			}
		}
	}
	p.checkDepends(l)
	p.checkClashes(l)
}

func (p *parser) checkDepends(l *Layout) {
	names := serviceNames(l)
	for _, b := range l.Backing {
		if !slices.Contains(names, b.Name) {
			names = append(names, b.Name)
		}
	}
	for _, s := range l.Services {
		for i, d := range s.Depends {
			at := p.node(fmt.Sprintf("services.%s.depends[%d]", s.Name, i), s.Pos)
			switch {
			case d == s.Name:
				p.errorf(at, "services.%s.depends: %q is the service itself; remove it", s.Name, d)
			case !slices.Contains(names, d):
				p.errorf(at, "services.%s.depends: no service or backing %q%s; there are %s", s.Name, d, suggest(d, names), strings.Join(names, ", "))
			}
		}
	}
	// A cycle among services would leave none of them startable; report it
	// once, at its first service in the file.
	const (
		unvisited = iota
		visiting
		done
	)
	state := make(map[string]int)
	reported := false
	var stack []string
	var visit func(s *Service)
	visit = func(s *Service) {
		state[s.Name] = visiting
		stack = append(stack, s.Name)
		for _, d := range s.Depends {
			dep := l.Service(d)
			if dep == nil || d == s.Name {
				continue
			}
			switch state[d] {
			case unvisited:
				visit(dep)
			case visiting:
				if !reported {
					reported = true
					cycle := append(slices.Clone(stack[slices.Index(stack, d):]), d)
					first := dep
					for _, n := range cycle {
						if c := l.Service(n); c.Pos.Line < first.Pos.Line {
							first = c
						}
					}
					p.errorf(&yaml.Node{Line: first.Pos.Line, Column: first.Pos.Col}, "services.%s.depends: a cycle: %s; nothing in it can start first: remove one of these", first.Name, strings.Join(cycle, " → "))
				}
			}
		}
		stack = stack[:len(stack)-1]
		state[s.Name] = done
	}
	for _, s := range l.Services {
		if state[s.Name] == unvisited {
			visit(s)
		}
	}
}

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

func pos(n *yaml.Node) Pos { return Pos{Line: n.Line, Col: n.Column} }

func less(a, b *yaml.Node) bool {
	return a.Line < b.Line || a.Line == b.Line && a.Column < b.Column
}

func serviceNames(l *Layout) []string {
	out := make([]string, len(l.Services))
	for i, s := range l.Services {
		out[i] = s.Name
	}
	return out
}
