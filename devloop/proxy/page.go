package proxy

import (
	"bytes"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"strconv"
	"strings"
)

// page is what the proxy says when it answers a request itself.
type page struct {
	Status     int
	Title      string // "web is starting"
	Message    string // one or two sentences: what happened, what to do
	Detail     string // the proxy's error, if any
	BuildError string
	Stale      string
	Routes     []Route // for a 404
	Refresh    bool    // reload the page by itself (a GET waiting for a service)
}

// unavailable answers for service s when no backend can: 503 while it is
// starting, 502 otherwise. err is why the backends failed, nil when there
// are none.
func (p *Proxy) unavailable(w http.ResponseWriter, r *http.Request, s *service, m *meta, err error) {
	pg := page{
		Status:     http.StatusBadGateway,
		BuildError: m.buildErr,
		Stale:      m.stale,
		Refresh:    r.Method == http.MethodGet,
	}
	if m.stale != "" {
		w.Header().Set(StaleHeader, m.stale)
	}
	n := len(s.pool.Load().backends)
	switch {
	case m.starting:
		pg.Status = http.StatusServiceUnavailable
		pg.Title = s.name + " is starting"
		pg.Message = fmt.Sprintf("Service %s has no worker ready yet; this page reloads until one is.", s.name)
		w.Header().Set("Retry-After", "1")
	case n == 0 || errors.Is(err, errNoBackends):
		pg.Title = s.name + " is not running"
		pg.Message = fmt.Sprintf("Service %s has no running workers.", s.name)
		if m.buildErr != "" {
			pg.Message += " Its last build failed; fix the error below and save."
		}
	default:
		pg.Title = s.name + " is not answering"
		pg.Message = fmt.Sprintf("No worker of service %s (%d %s) answered the request.", s.name, n, plural(n, "backend", "backends"))
	}
	if err != nil && !errors.Is(err, errNoBackends) {
		pg.Detail = err.Error()
	}
	writePage(w, r, pg)
}

// notFound answers a request no route matches.
func (p *Proxy) notFound(w http.ResponseWriter, r *http.Request, t *routeTable) {
	pg := page{
		Status: http.StatusNotFound,
		Title:  "no route for " + r.URL.Path,
	}
	for _, rt := range t.routes {
		pg.Routes = append(pg.Routes, Route{Path: rt.path, Service: rt.svc.name, StripPrefix: rt.strip})
	}
	if len(pg.Routes) == 0 {
		pg.Message = "The proxy has no routes: add routes under proxy: in toil.yaml."
	} else {
		pg.Message = "No route of the proxy matches this path. The routes are:"
	}
	writePage(w, r, pg)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// writePage writes pg as HTML when the client is a browser (it accepts
// text/html), as text otherwise. Never cached: the next request may well
// be served.
func writePage(w http.ResponseWriter, r *http.Request, pg page) {
	var body bytes.Buffer
	h := w.Header()
	if strings.Contains(r.Header.Get("Accept"), "text/html") {
		h.Set("Content-Type", "text/html; charset=utf-8")
		if err := pageHTML.Execute(&body, pg); err != nil {
			// The template is fixed and its data plain strings: this
			// cannot happen short of a bug, and a text page still helps.
			body.Reset()
			writeText(&body, pg)
			h.Set("Content-Type", "text/plain; charset=utf-8")
		}
	} else {
		h.Set("Content-Type", "text/plain; charset=utf-8")
		writeText(&body, pg)
	}
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Length", strconv.Itoa(body.Len()))
	w.WriteHeader(pg.Status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body.Bytes()) // the client may be gone; nothing to do about it
	}
}

func writeText(b *bytes.Buffer, pg page) {
	fmt.Fprintf(b, "%d %s: %s\n", pg.Status, http.StatusText(pg.Status), pg.Title)
	fmt.Fprintf(b, "%s\n", pg.Message)
	for _, r := range pg.Routes {
		fmt.Fprintf(b, "  %s -> %s\n", r.Path, r.Service)
	}
	if pg.Detail != "" {
		fmt.Fprintf(b, "\n%s\n", pg.Detail)
	}
	if pg.BuildError != "" {
		fmt.Fprintf(b, "\nLast build error:\n%s\n", strings.TrimRight(pg.BuildError, "\n"))
	}
	if pg.Stale != "" {
		fmt.Fprintf(b, "\nStale: %s\n", pg.Stale)
	}
}

// pageHTML escapes everything it is given: build errors quote source code,
// which is full of < and &.
var pageHTML = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width">
{{if .Refresh}}<meta http-equiv="refresh" content="2">
{{end}}<title>{{.Status}} · {{.Title}} · toil</title>
<style>
body { font: 15px/1.5 system-ui, sans-serif; margin: 2rem auto; max-width: 60rem; padding: 0 1rem; color: #222; }
h1 { font-size: 1.4rem; }
.code { color: #b00; }
pre { background: #f6f6f6; border-left: 4px solid #b00; padding: .75rem 1rem; overflow-x: auto; white-space: pre-wrap; }
.stale { background: #fff4d6; padding: .5rem 1rem; }
footer { color: #888; font-size: .85rem; margin-top: 2rem; }
</style>
</head>
<body>
<h1><span class="code">{{.Status}}</span> {{.Title}}</h1>
<p>{{.Message}}</p>
{{with .Routes}}<ul>{{range .}}<li><code>{{.Path}}</code> → {{.Service}}</li>{{end}}</ul>
{{end}}{{with .Detail}}<pre>{{.}}</pre>
{{end}}{{with .BuildError}}<h2>Last build error</h2>
<pre>{{.}}</pre>
{{end}}{{with .Stale}}<p class="stale">Stale: {{.}}</p>
{{end}}<footer>toil proxy</footer>
</body>
</html>
`))
