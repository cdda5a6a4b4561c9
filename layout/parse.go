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
