package export

import (
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/toilhq/toil/layout"
)

// Nginx renders the layout's proxy as an nginx config for the http {}
// block: an upstream per listening service and a location per route, with
// the dev proxy's timeouts and headers (Host kept, X-Forwarded-For,
// -Host, -Proto and, when stripping, -Prefix; WebSocket upgrades passed
// through), so a request is routed and seen the same under toil dev and
// behind nginx.
func Nginx(l *layout.Layout, o Options) ([]File, error) {
	p := l.Proxy
	if p == nil {
		return nil, &Error{Target: "nginx", Service: l.Name, Reason: "toil.yaml has no proxy: section, so there is nothing for nginx to do; add proxy: {listen, routes}"}
	}
	if p.Listen.Network != "tcp" {
		return nil, &Error{Target: "nginx", Service: "proxy", Reason: fmt.Sprintf("listen %s: nginx needs a host:port here", p.Listen)}
	}
	var b strings.Builder
	b.WriteString(Header("# ", "nginx config; include it in the http {} block", o))
	id := strings.ReplaceAll(l.Name, "-", "_")
	connVar := "$toil_" + id + "_connection"

	// Upgrade requests (WebSocket) keep their Connection header, others
	// send none so upstream keep-alive works.
	fmt.Fprintf(&b, "\nmap $http_upgrade %s {\n    default upgrade;\n    ''      '';\n}\n", connVar)

	for _, s := range l.Services {
		if s.Listen.IsZero() {
			continue
		}
		addr, err := nginxAddr(s)
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(&b, "\n# %s: procs %d\nupstream %s {\n    server %s;\n    keepalive 32;\n}\n", s.Name, s.Procs, upstream(l, s), addr)
	}

	listen := strings.TrimPrefix(p.Listen.Addr, ":")
	fmt.Fprintf(&b, "\nserver {\n    listen %s;\n    keepalive_timeout %s;\n", listen, seconds(p.IdleTimeout))

	// nginx picks the longest matching prefix location, as the dev proxy
	// does; "= /api" and "/api/" make "/api" match whole segments only
	// (not /apix). Sorted by path so the file does not depend on order.
	routes := slices.Clone(p.Routes)
	slices.SortFunc(routes, func(a, b layout.Route) int { return strings.Compare(a.Path, b.Path) })
	for _, r := range routes {
		s := l.Service(r.To)
		if s == nil || s.Listen.IsZero() {
			return nil, &Error{Target: "nginx", Service: r.To, Reason: fmt.Sprintf("the route %s goes to it, but it has no listen address; give it one", r.Path)}
		}
		if r.Path == "/" {
			nginxLocation(&b, "/", r, l, s, p, connVar)
			continue
		}
		nginxLocation(&b, "= "+r.Path, r, l, s, p, connVar)
		nginxLocation(&b, r.Path+"/", r, l, s, p, connVar)
	}
	b.WriteString("}\n")
	return []File{{Name: l.Name + ".conf", Data: []byte(b.String()), Mode: 0o644}}, nil
}

func nginxLocation(b *strings.Builder, loc string, r layout.Route, l *layout.Layout, s *layout.Service, p *layout.Proxy, connVar string) {
	fmt.Fprintf(b, "\n    location %s {\n", loc)
	target := "http://" + upstream(l, s)
	if r.StripPrefix && r.Path != "/" {
		// A URI in proxy_pass replaces the part the location matched:
		// /api/users → /users, /api → /.
		target += "/"
	}
	fmt.Fprintf(b, "        proxy_pass %s;\n", target)
	b.WriteString("        proxy_http_version 1.1;\n")
	// The headers are repeated in every location: nginx drops the
	// server's proxy_set_header lines in a location that sets its own.
	b.WriteString("        proxy_set_header Host $http_host;\n")
	b.WriteString("        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;\n")
	b.WriteString("        proxy_set_header X-Forwarded-Host $http_host;\n")
	b.WriteString("        proxy_set_header X-Forwarded-Proto $scheme;\n")
	if r.StripPrefix && r.Path != "/" {
		fmt.Fprintf(b, "        proxy_set_header X-Forwarded-Prefix %s;\n", r.Path)
	}
	b.WriteString("        proxy_set_header Upgrade $http_upgrade;\n")
	fmt.Fprintf(b, "        proxy_set_header Connection %s;\n", connVar)
	fmt.Fprintf(b, "        proxy_connect_timeout %s;\n", seconds(p.ConnectTimeout))
	fmt.Fprintf(b, "        proxy_read_timeout %s;\n", seconds(p.ReadTimeout))
	fmt.Fprintf(b, "        proxy_send_timeout %s;\n", seconds(p.WriteTimeout))
	// The dev proxy flushes every write (server-sent events stream).
	b.WriteString("        proxy_buffering off;\n")
	b.WriteString("    }\n")
}

// upstream names s's upstream block.
func upstream(l *layout.Layout, s *layout.Service) string {
	return BinaryName(l, s)
}

// nginxAddr is the address nginx dials to reach s.
func nginxAddr(s *layout.Service) (string, error) {
	switch {
	case s.Listen.Auto:
		return "", &Error{Target: "nginx", Service: s.Name, Reason: "listen: auto picks a port when toil starts, so nginx cannot know it; give the service a fixed address such as listen: \"127.0.0.1:8081\""}
	case s.Listen.Network == "unix":
		if !path.IsAbs(s.Listen.Addr) {
			return "", &Error{Target: "nginx", Service: s.Name, Reason: fmt.Sprintf("listen %s is relative to toil.yaml's directory, which production does not have; use an absolute path such as unix:/run/%s.sock", s.Listen, s.Name)}
		}
		return "unix:" + s.Listen.Addr, nil
	}
	return loopback(s.Listen), nil
}
