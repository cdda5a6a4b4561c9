package layout

import (
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// maxUnixPath is the room in a unix socket address (sun_path, less its
// terminating NUL).
const maxUnixPath = 107

// listen reads a listen: value. auto is allowed for services, not for the
// proxy (the one address a person types into a browser).
func (p *parser) listen(n *yaml.Node, path string, autoOK bool) (Listen, bool) {
	n = resolve(n)
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!int" {
		p.errorf(n, "%s: %s is a bare port; write \"127.0.0.1:%s\" (this machine only) or \":%s\" (every interface)", path, n.Value, n.Value, n.Value)
		return Listen{}, false
	}
	s, ok := p.str(n, path, `an address like "127.0.0.1:8080"`)
	if !ok {
		return Listen{}, false
	}
	if s == "auto" {
		if !autoOK {
			p.errorf(n, "%s: auto is for services; the proxy needs a fixed address to open in a browser, like \"127.0.0.1:8000\"", path)
			return Listen{}, false
		}
		return Listen{Auto: true}, true
	}
	if sock, ok := strings.CutPrefix(s, "unix:"); ok {
		switch {
		case sock == "":
			p.errorf(n, "%s: unix: needs a socket path, like unix:run/web.sock", path)
		case len(sock) > maxUnixPath:
			p.errorf(n, "%s: the socket path is %d bytes; unix sockets allow %d: use a shorter one", path, len(sock), maxUnixPath)
		default:
			return Listen{Network: "unix", Addr: sock}, true
		}
		return Listen{}, false
	}
	if msg := checkAddr(s); msg != "" {
		p.errorf(n, "%s: %s", path, msg)
		return Listen{}, false
	}
	return Listen{Network: "tcp", Addr: s}, true
}

// checkAddr explains what is wrong with a host:port, or returns "".
func checkAddr(s string) string {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		if !strings.Contains(s, ":") {
			return fmt.Sprintf("%q has no port; write it like \"%s:8080\", or auto for a free port", s, s)
		}
		return fmt.Sprintf("%q is not host:port; write it like \"127.0.0.1:8080\" or \":8080\"", s)
	}
	n, err := strconv.Atoi(port)
	switch {
	case err != nil:
		return fmt.Sprintf("port %q in %q is not a number", port, s)
	case n == 0:
		return fmt.Sprintf("port 0 in %q means any free port; write listen: auto", s)
	case n < 0 || n > 65535:
		return fmt.Sprintf("port %d in %q is out of range 1-65535", n, s)
	}
	if host != "" && host != "localhost" && net.ParseIP(host) == nil {
		return fmt.Sprintf("host %q in %q is not an IP address; bind to 127.0.0.1 (this machine only), 0.0.0.0 (every interface) or one of this machine's addresses", host, s)
	}
	return ""
}

// endpoint is an address something in the layout binds, for clash checks.
type endpoint struct {
	what string // "services.web.listen", for messages
	at   Pos
	tcp  bool
	host string // normalized: "" for every interface
	port int
	path string // unix socket
}

// overlaps reports whether a and b cannot both be bound.
func (a endpoint) overlaps(b endpoint) bool {
	if a.tcp != b.tcp {
		return false
	}
	if !a.tcp {
		return a.path == b.path
	}
	if a.port != b.port {
		return false
	}
	if a.host == "" || b.host == "" || a.host == b.host {
		return true
	}
	// localhost binds the loopback addresses it resolves to.
	loop := func(h string) bool { return h == "localhost" || h == "127.0.0.1" || h == "::1" }
	return (a.host == "localhost" || b.host == "localhost") && loop(a.host) && loop(b.host)
}

func (p *parser) checkClashes(l *Layout) {
	var eps []endpoint
	add := func(what string, at Pos, ln Listen) {
		switch ln.Network {
		case "tcp":
			eps = append(eps, endpoint{what: what, at: at, tcp: true, host: normHost(ln.Host()), port: ln.Port()})
		case "unix":
			eps = append(eps, endpoint{what: what, at: at, path: filepath.Clean(ln.Addr)})
		}
	}
	for _, s := range l.Services {
		what := "services." + s.Name + ".listen"
		add(what, pos(p.node(what, s.Pos)), s.Listen)
	}
	if l.Proxy != nil {
		add("proxy.listen", pos(p.node("proxy.listen", l.Proxy.Pos)), l.Proxy.Listen)
	}
	for _, b := range l.Backing {
		if b.Port != 0 {
			// Backing systems listen on the loopback address.
			what := "backing." + b.Name + ".port"
			eps = append(eps, endpoint{what: what, at: pos(p.node(what, b.Pos)), tcp: true, host: "127.0.0.1", port: b.Port})
		}
	}
	// Report each clash once, at the later of the two, naming the earlier.
	reported := make(map[int]bool)
	for j := range eps {
		for i := range eps {
			a, b := eps[i], eps[j]
			if !(a.at.Line < b.at.Line || a.at.Line == b.at.Line && a.at.Col < b.at.Col) || reported[j] || !a.overlaps(b) {
				continue
			}
			reported[j] = true
			what := fmt.Sprintf("port %d", b.port)
			if !b.tcp {
				what = "socket " + b.path
			}
			p.errorf(&yaml.Node{Line: b.at.Line, Column: b.at.Col}, "%s: %s is also used by %s (line %d); give each its own", b.what, what, a.what, a.at.Line)
		}
	}
}

func normHost(h string) string {
	switch h {
	case "", "0.0.0.0", "::":
		return ""
	}
	if ip := net.ParseIP(h); ip != nil {
		return ip.String()
	}
	return strings.ToLower(h)
}
