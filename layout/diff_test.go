package layout_test

import (
	"strings"
	"testing"

	"github.com/toilhq/toil/layout"
)

func parse(t *testing.T, src string) *layout.Layout {
	t.Helper()
	l, err := layout.Parse("toil.yaml", []byte(src))
	if err != nil {
		t.Fatalf("Parse:\n%s\n%v", src, err)
	}
	return l
}

const base = `name: shop
services:
  web: {run: shop.web, procs: 2, listen: "127.0.0.1:8080"}
  worker: {run: shop.worker, procs: 4}
  legacy: {main: ./cmd/legacy}
proxy:
  listen: "127.0.0.1:8000"
  routes: [{path: /, to: web}]
backing:
  redis: {cmd: "redis-server --port {port}"}
env: {LOG_LEVEL: info}
`

// Each case is a toil.yaml edit and what the supervisor is told to do.
func TestDiff(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, new, want string
	}{
		{"nothing", base, ""},
		{"comments and spacing only", "# edited\n" + base + "\n\n", ""},
		{
			"scale: workers only",
			replace(base, "procs: 4", "procs: 6"),
			"~ service worker: procs 4 → 6\n",
		},
		{
			"procs written out at its default is no change",
			replace(base, "{main: ./cmd/legacy}", "{main: ./cmd/legacy, procs: 1, stop_timeout: 10s}"),
			"",
		},
		{
			"listen: a new socket and a roll",
			replace(base, `"127.0.0.1:8080"`, `"127.0.0.1:9090"`),
			"~ service web: listen (roll)\n",
		},
		{
			"a service's env rolls it alone",
			replace(base, "procs: 4}", "procs: 4, env: {X: y}}"),
			"~ service worker: env (roll)\n",
		},
		{
			"the layout's env rolls every service it reaches",
			replace(base, "LOG_LEVEL: info", "LOG_LEVEL: debug"),
			"~ service web: env (roll)\n~ service worker: env (roll)\n~ service legacy: env (roll)\n~ env: LOG_LEVEL\n",
		},
		{
			"run to main, and a timeout that needs no roll",
			replace(replace(base, "run: shop.worker", "main: ./cmd/worker"), "procs: 4}", "procs: 4, stop_timeout: 30s}"),
			"~ service worker: run, main, stop_timeout (roll)\n",
		},
		{
			"config and watch lists apply without a roll",
			replace(base, "{main: ./cmd/legacy}", "{main: ./cmd/legacy, config: [a.yaml], watch: [t/*]}"),
			"~ service legacy: config, watch\n",
		},
		{
			"add and remove services",
			replace(base, "  legacy: {main: ./cmd/legacy}\n", "  mailer: {run: shop.mailer}\n"),
			"+ service mailer\n- service legacy\n",
		},
		{
			"proxy routes swap",
			replace(base, "[{path: /, to: web}]", "[{path: /, to: web}, {path: /api, to: web, strip_prefix: true}]"),
			"~ proxy: routes\n",
		},
		{
			"proxy listen and timeouts",
			replace(base, `listen: "127.0.0.1:8000"`, `listen: "127.0.0.1:8001"`+"\n  read_timeout: 5m"),
			"~ proxy: listen, timeouts\n",
		},
		{
			"proxy removed",
			replace(base, "proxy:\n  listen: \"127.0.0.1:8000\"\n  routes: [{path: /, to: web}]\n", ""),
			"- proxy\n",
		},
		{
			"backing changed, added",
			replace(base, `redis: {cmd: "redis-server --port {port}"}`, `redis: {cmd: "redis-server --port {port} --save ''", fallback: embedded}`+"\n  nats: {embedded: nats}"),
			"+ backing nats\n~ backing redis: cmd, fallback (restart)\n",
		},
		{
			"renamed",
			replace(base, "name: shop", "name: store"),
			"~ name\n",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := layout.Diff(parse(t, base), parse(t, tc.new))
			if got := c.String(); got != tc.want {
				t.Errorf("Diff:\ngot:\n%s\nwant:\n%s", got, tc.want)
			}
			if c.Empty() != (tc.want == "") {
				t.Errorf("Empty() = %v for %q", c.Empty(), tc.want)
			}
		})
	}
}

// A service that sets the variable itself does not see the layout's value
// change, and keeps running.
func TestDiffEnvOverridden(t *testing.T) {
	t.Parallel()
	old := replace(base, "procs: 4}", "procs: 4, env: {LOG_LEVEL: warn}}")
	c := layout.Diff(parse(t, old), parse(t, replace(old, "LOG_LEVEL: info", "LOG_LEVEL: debug")))
	want := "~ service web: env (roll)\n~ service legacy: env (roll)\n~ env: LOG_LEVEL\n"
	if got := c.String(); got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}

// The structured form the supervisor acts on.
func TestDiffFields(t *testing.T) {
	t.Parallel()
	c := layout.Diff(parse(t, base), parse(t, replace(replace(base, "procs: 2,", "procs: 3,"), `"127.0.0.1:8080"`, "auto")))
	if len(c.Scaled) != 1 || c.Scaled[0] != (layout.Scale{Service: "web", From: 2, To: 3}) {
		t.Errorf("Scaled = %+v", c.Scaled)
	}
	if len(c.Changed) != 1 {
		t.Fatalf("Changed = %+v", c.Changed)
	}
	sc := c.Changed[0]
	if sc.Service != "web" || !sc.Has(layout.FieldListen) || !sc.Rebind() || !sc.Roll() || sc.Has(layout.FieldEnv) {
		t.Errorf("web change = %+v (Rebind %v, Roll %v)", sc, sc.Rebind(), sc.Roll())
	}

	c = layout.Diff(parse(t, base), parse(t, replace(base, "{main: ./cmd/legacy}", "{main: ./cmd/legacy, depends: [redis], ready_timeout: 1m}")))
	if sc := c.Changed[0]; sc.Roll() || sc.Rebind() {
		t.Errorf("depends and ready_timeout need no roll: %+v", sc)
	}
}

// Diff(nil, l) is a first start: everything is added.
func TestDiffFromNothing(t *testing.T) {
	t.Parallel()
	c := layout.Diff(nil, parse(t, base))
	want := "~ name\n+ backing redis\n+ service web\n+ service worker\n+ service legacy\n~ env: LOG_LEVEL\n+ proxy\n"
	if got := c.String(); got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
	c = layout.Diff(parse(t, base), nil)
	if len(c.Removed) != 3 || len(c.BackingRemoved) != 1 || c.Proxy == nil || !c.Proxy.Removed {
		t.Errorf("Diff(l, nil) = %+v", c)
	}
}

func replace(s, old, new string) string {
	if !strings.Contains(s, old) {
		panic("test edit does not apply: " + old)
	}
	return strings.Replace(s, old, new, 1)
}
