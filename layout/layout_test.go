package layout_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/toilhq/toil/analyzers"
	"github.com/toilhq/toil/layout"
	"go.yaml.in/yaml/v3"
)

func load(t *testing.T, path string) *layout.Layout {
	t.Helper()
	l, err := layout.Load(path)
	if err != nil {
		t.Fatalf("Load(%s): %v", path, err)
	}
	return l
}

// same fails with both values as JSON when they differ.
func same(t *testing.T, what string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		g, _ := json.MarshalIndent(got, "", "  ")
		w, _ := json.MarshalIndent(want, "", "  ")
		t.Errorf("%s:\ngot  %s\nwant %s", what, g, w)
	}
}

// The example in DESIGN §5 is what users copy first: it must parse, with
// every default filled in.
func TestDesignExample(t *testing.T) {
	t.Parallel()
	l := load(t, "testdata/design.yaml")
	svc := func(name, run, main string, procs, line int, listen layout.Listen) *layout.Service {
		return &layout.Service{
			Name: name, Run: run, Main: main, Procs: procs, Listen: listen, Env: layout.Env{},
			StopTimeout: 10 * time.Second, ReadyTimeout: 30 * time.Second,
			Pos: layout.Pos{Line: line, Col: 3},
		}
	}
	want := &layout.Layout{
		File: "testdata/design.yaml",
		Dir:  "testdata",
		Name: "tempest",
		Services: []*layout.Service{
			svc("warmer", "tempest.warmer", "", 16, 3, layout.Listen{}),
			svc("scorer", "tempest.scorer", "", 2, 4, layout.Listen{}),
			svc("pusher", "tempest.pusher", "", 2, 5, layout.Listen{}),
			svc("web", "tempest.web", "", 4, 6, layout.Listen{Network: "tcp", Addr: "127.0.0.1:8081"}),
			svc("legacy", "", "./cmd/legacy", 2, 7, layout.Listen{}),
		},
		Proxy: &layout.Proxy{
			Listen:         layout.Listen{Network: "tcp", Addr: "127.0.0.1:8000"},
			Routes:         []layout.Route{{Path: "/", To: "web", Pos: layout.Pos{Line: 11, Col: 12}}},
			ConnectTimeout: 5 * time.Second, ReadTimeout: 60 * time.Second,
			WriteTimeout: 60 * time.Second, IdleTimeout: 75 * time.Second,
			Pos: layout.Pos{Line: 9, Col: 1},
		},
		Backing: []*layout.Backing{
			{
				Name: "nats", Kind: "nats", Embedded: "nats",
				Env:         layout.Env{"NATS_URL": "nats://127.0.0.1:{port}"},
				StopTimeout: 10 * time.Second,
				Pos:         layout.Pos{Line: 13, Col: 3},
			},
			{
				Name: "redis", Kind: "redis", Cmd: "redis-server --port {port} --save ''", Fallback: "embedded",
				Env:         layout.Env{"REDIS_URL": "redis://127.0.0.1:{port}"},
				Ready:       layout.Probe{TCP: true, Timeout: 30 * time.Second},
				StopTimeout: 10 * time.Second,
				Pos:         layout.Pos{Line: 14, Col: 3},
			},
		},
		Env: layout.Env{"LOG_LEVEL": "debug"},
	}
	same(t, "design.yaml", l, want)
}

// full.yaml uses every key: anchors and merges, lists given as one string,
// unix sockets, probes, a lint section.
func TestEveryKey(t *testing.T) {
	t.Parallel()
	l := load(t, "testdata/full.yaml")

	if got := names(l.Services); !slices.Equal(got, []string{"web", "api", "legacy", "mailer"}) {
		t.Errorf("services in file order: got %v", got)
	}
	web := l.Service("web")
	same(t, "web", web, &layout.Service{
		Name: "web", Run: "shop/web.server", Procs: 4,
		Listen:       layout.Listen{Network: "tcp", Addr: "127.0.0.1:8081"},
		Env:          layout.Env{"REGION": "eu"}, // from the x-toil anchor
		Config:       []string{"conf/web.yaml", "conf/shared.yaml"},
		Watch:        []string{"templates/**/*.html"},
		Depends:      []string{"api", "redis"},
		StopTimeout:  20 * time.Second, // from the anchor
		ReadyTimeout: time.Minute,
		Pos:          layout.Pos{Line: 9, Col: 3},
	})
	api := l.Service("api")
	if api.StopTimeout != 5*time.Second || api.Env["REGION"] != "us" || !api.Listen.Auto {
		t.Errorf("api: the service's own keys must win over the merged anchor: %+v", api)
	}
	legacy := l.Service("legacy")
	if !slices.Equal(legacy.Args, []string{"--mode", "fast lane"}) || legacy.Listen != (layout.Listen{Network: "unix", Addr: "run/legacy.sock"}) || legacy.Toil() {
		t.Errorf("legacy: %+v", legacy)
	}
	if got := l.Service("mailer").Depends; !slices.Equal(got, []string{"redis"}) {
		t.Errorf("depends: redis (one string) = %v, want [redis]", got)
	}

	same(t, "proxy", l.Proxy, &layout.Proxy{
		Listen: layout.Listen{Network: "tcp", Addr: ":8000"},
		Routes: []layout.Route{
			{Path: "/", To: "web", Pos: layout.Pos{Line: 36, Col: 7}},
			{Path: "/api", To: "api", StripPrefix: true, Pos: layout.Pos{Line: 37, Col: 7}},
			{Path: "/legacy", To: "legacy", Pos: layout.Pos{Line: 38, Col: 7}},
		},
		ConnectTimeout: layout.DefaultConnectTimeout,
		ReadTimeout:    5 * time.Minute,
		WriteTimeout:   layout.DefaultWriteTimeout,
		IdleTimeout:    2 * time.Minute,
		Pos:            layout.Pos{Line: 33, Col: 1},
	})

	redis := l.BackingNamed("redis")
	if redis.Ready != (layout.Probe{Cmd: "redis-cli -p {port} ping", Timeout: 5 * time.Second}) {
		t.Errorf("redis ready: %+v", redis.Ready)
	}
	if got := redis.Command(6380); !slices.Equal(got, []string{"redis-server", "--port", "6380", "--save", ""}) {
		t.Errorf("redis command: %q", got)
	}
	if got := redis.Ready.Command(6380); !slices.Equal(got, []string{"redis-cli", "-p", "6380", "ping"}) {
		t.Errorf("redis probe: %q", got)
	}
	pg := l.BackingNamed("pg")
	if pg.Kind != "postgres" || pg.Port != 5433 || pg.StopTimeout != 30*time.Second || pg.Ready.URL(5433) != "http://127.0.0.1:5433/health" {
		t.Errorf("pg: %+v", pg)
	}
	if got := pg.Environ(5433); !reflect.DeepEqual(got, layout.Env{"DATABASE_URL": "postgres://127.0.0.1:5433/postgres?sslmode=disable"}) {
		t.Errorf("pg env: %v", got)
	}
	search := l.BackingNamed("search")
	if search.Kind != "" || !search.Ready.TCP || search.Ready.Timeout != layout.DefaultReadyTimeout {
		t.Errorf("search: a command of no known kind gets the TCP probe: %+v", search)
	}
	if got := search.Environ(7700); !reflect.DeepEqual(got, layout.Env{"SEARCH_URL": "http://127.0.0.1:7700"}) {
		t.Errorf("search env: %v", got)
	}

	// Numbers and empty strings are values as written.
	same(t, "env", l.Env, layout.Env{"LOG_LEVEL": "debug", "WORKERS": "8", "EMPTY": ""})

	// lint: is kept as written, for the analyzers, which read the same file.
	if l.Lint.Kind != yaml.MappingNode || l.Lint.Line != 65 {
		t.Errorf("lint node: kind %v line %d", l.Lint.Kind, l.Lint.Line)
	}
	data, err := os.ReadFile("testdata/full.yaml")
	if err != nil {
		t.Fatal(err)
	}
	settings, err := analyzers.ParseSettings("testdata/full.yaml", data)
	if err != nil || !slices.Equal(settings.Enable, []string{"logdebug"}) {
		t.Errorf("analyzers.ParseSettings on the same file: %+v, %v", settings, err)
	}
}

func names(ss []*layout.Service) []string {
	var out []string
	for _, s := range ss {
		out = append(out, s.Name)
	}
	return out
}

// The lint: section is the analyzers' to judge: even a lint section they
// reject does not stop the layout from loading.
func TestLintNotValidated(t *testing.T) {
	t.Parallel()
	src := "name: a\nservices: {web: {run: a.web}}\nlint: {enable: [nosuchrule], weird: [1, {x: y}]}\n"
	l, err := layout.Parse("toil.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if l.Lint.Kind != yaml.MappingNode {
		t.Errorf("lint not kept: %+v", l.Lint)
	}
}

// Environment: the backing's variables, then the layout's, then the
// service's; sorted, so exports are byte-identical.
func TestEnviron(t *testing.T) {
	t.Parallel()
	l := load(t, "testdata/full.yaml")
	got := l.Environ(l.Service("api"), layout.Env{"REDIS_URL": "redis://127.0.0.1:1", "LOG_LEVEL": "from-backing"})
	want := []string{"DEBUG=1", "EMPTY=", "LOG_LEVEL=debug", "REDIS_URL=redis://127.0.0.1:1", "REGION=us", "WORKERS=8"}
	if !slices.Equal(got, want) {
		t.Errorf("Environ(api):\ngot  %q\nwant %q", got, want)
	}
}

func TestStartOrder(t *testing.T) {
	t.Parallel()
	src := `name: a
services:
  web: {run: a.web, depends: [api, cache]}
  worker: {run: a.worker}
  api: {run: a.api, depends: [db]}
  db: {run: a.db}
  cache: {run: a.cache, depends: redis}
backing:
  redis: {embedded: redis}
`
	l, err := layout.Parse("toil.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := names(l.StartOrder()), []string{"db", "api", "cache", "web", "worker"}; !slices.Equal(got, want) {
		t.Errorf("StartOrder = %v, want %v", got, want)
	}
}

func TestRouteMatches(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		route, path string
		want        bool
	}{
		{"/", "/", true},
		{"/", "/anything/at/all", true},
		{"/api", "/api", true},
		{"/api", "/api/", true},
		{"/api", "/api/users", true},
		{"/api", "/apix", false},
		{"/api", "/", false},
	} {
		if got := (layout.Route{Path: tc.route}).Matches(tc.path); got != tc.want {
			t.Errorf("route %s matches %s = %v, want %v", tc.route, tc.path, got, tc.want)
		}
	}
}

func TestListen(t *testing.T) {
	t.Parallel()
	src := `name: a
services:
  a: {run: a.a, listen: "127.0.0.1:8080"}
  b: {run: a.b, listen: ":9090"}
  c: {run: a.c, listen: "[::1]:7070"}
  d: {run: a.d, listen: auto}
  e: {run: a.e, listen: "unix:/run/e.sock"}
  f: {run: a.f}
`
	l, err := layout.Parse("toil.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		svc, str, host string
		port           int
		zero           bool
	}{
		{"a", "127.0.0.1:8080", "127.0.0.1", 8080, false},
		{"b", ":9090", "", 9090, false},
		{"c", "[::1]:7070", "::1", 7070, false},
		{"d", "auto", "", 0, false},
		{"e", "unix:/run/e.sock", "", 0, false},
		{"f", "", "", 0, true},
	} {
		ln := l.Service(tc.svc).Listen
		if ln.String() != tc.str || ln.Host() != tc.host || ln.Port() != tc.port || ln.IsZero() != tc.zero {
			t.Errorf("%s: String %q Host %q Port %d IsZero %v; want %q %q %d %v", tc.svc, ln.String(), ln.Host(), ln.Port(), ln.IsZero(), tc.str, tc.host, tc.port, tc.zero)
		}
	}
	if got := l.Path("run/x.sock"); got != filepath.Join(".", "run/x.sock") {
		t.Errorf("Path relative: %s", got)
	}
	if got := l.Path("/run/e.sock"); got != "/run/e.sock" {
		t.Errorf("Path absolute: %s", got)
	}
}

// Default is what Go-built layouts (tests of dev and export) call; calling
// it again changes nothing.
func TestDefault(t *testing.T) {
	t.Parallel()
	l := &layout.Layout{
		Services: []*layout.Service{{Name: "web", Run: "a.web", Procs: 3}},
		Proxy:    &layout.Proxy{ReadTimeout: time.Second},
		Backing:  []*layout.Backing{{Name: "redis", Cmd: "redis-server --port {port}"}, {Name: "q", Embedded: "nats"}},
	}
	l.Default()
	s := l.Service("web")
	if s.Procs != 3 || s.StopTimeout != layout.DefaultStopTimeout || s.ReadyTimeout != layout.DefaultReadyTimeout || s.Env == nil {
		t.Errorf("service defaults: %+v", s)
	}
	if p := l.Proxy; p.ReadTimeout != time.Second || p.ConnectTimeout != layout.DefaultConnectTimeout || p.IdleTimeout != layout.DefaultIdleTimeout {
		t.Errorf("proxy defaults: %+v", p)
	}
	if b := l.BackingNamed("redis"); b.Kind != "redis" || b.Env["REDIS_URL"] == "" || !b.Ready.TCP {
		t.Errorf("redis defaults (kind from the name): %+v", b)
	}
	if b := l.BackingNamed("q"); b.Kind != "nats" || b.Env["NATS_URL"] == "" || b.Ready != (layout.Probe{}) {
		t.Errorf("q defaults (kind from embedded, no probe): %+v", b)
	}
	before, _ := json.Marshal(l)
	l.Default()
	if after, _ := json.Marshal(l); string(after) != string(before) {
		t.Errorf("Default is not idempotent:\n%s\n%s", before, after)
	}
}

// A backing with env: {} gives the services nothing: an explicit empty map
// is not replaced by the kind's default.
func TestBackingEnvExplicitEmpty(t *testing.T) {
	t.Parallel()
	l, err := layout.Parse("toil.yaml", []byte("name: a\nservices: {w: {run: a.w}}\nbacking: {redis: {cmd: 'redis-server --port {port}', env: {}}}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if env := l.BackingNamed("redis").Environ(1); len(env) != 0 {
		t.Errorf("env: {} = %v, want none", env)
	}
}

func TestCommandWords(t *testing.T) {
	t.Parallel()
	src := `name: a
services: {w: {run: a.w}}
backing:
  a: {cmd: "srv --port={port} --name 'two words' \"dq \\\" q\" esc\\ aped ''"}
  b: {cmd: "sh -c 'redis-server --port {port} | tee log'"}
`
	l, err := layout.Parse("toil.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := l.BackingNamed("a").Command(9), []string{"srv", "--port=9", "--name", "two words", `dq " q`, "esc aped", ""}; !slices.Equal(got, want) {
		t.Errorf("a: got %q, want %q", got, want)
	}
	if got, want := l.BackingNamed("b").Command(9), []string{"sh", "-c", "redis-server --port 9 | tee log"}; !slices.Equal(got, want) {
		t.Errorf("b: got %q, want %q", got, want)
	}
}

func TestFind(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	write := func(rel, data string) {
		t.Helper()
		p := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("mod/go.mod", "module example.com/m\n")
	write("mod/toil.yaml", "name: m\n")
	write("mod/a/b/x.go", "package b\n")
	write("outer/toil.yaml", "name: outer\n")
	write("outer/inner/go.mod", "module example.com/inner\n")
	write("outer/inner/pkg/x.go", "package pkg\n")
	write("yml/go.mod", "module example.com/yml\n")
	write("yml/toil.yml", "name: y\n")

	if got, err := layout.Find(filepath.Join(root, "mod/a/b")); err != nil || got != filepath.Join(root, "mod/toil.yaml") {
		t.Errorf("from a subdirectory: %q, %v", got, err)
	}
	// The module root is the boundary: a toil.yaml above it belongs to
	// another project.
	_, err := layout.Find(filepath.Join(root, "outer/inner/pkg"))
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "up to the module root "+filepath.Join(root, "outer/inner")) {
		t.Errorf("stops at the module root: %v", err)
	}
	_, err = layout.Find(filepath.Join(root, "yml"))
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "rename it to toil.yaml") {
		t.Errorf("toil.yml: %v", err)
	}
}

func TestLoadMissingFile(t *testing.T) {
	t.Parallel()
	_, err := layout.Load(filepath.Join(t.TempDir(), "toil.yaml"))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Load of a missing file: %v, want fs.ErrNotExist", err)
	}
}

// The README's examples are what users copy: each ```yaml block parses
// (with a name: added to the fragments that leave it out).
func TestReadmeExamples(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := strings.Split(string(data), "```yaml\n")[1:]
	if len(blocks) < 2 {
		t.Fatalf("found %d yaml blocks in README.md", len(blocks))
	}
	for i, b := range blocks {
		src, _, _ := strings.Cut(b, "```")
		if !strings.Contains(src, "\nname:") && !strings.HasPrefix(src, "name:") {
			src = "name: example\n" + src
		}
		if _, err := layout.Parse(fmt.Sprintf("README.md block %d", i+1), []byte(src)); err != nil {
			t.Errorf("%v", err)
		}
	}
}
