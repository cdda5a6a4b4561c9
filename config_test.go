package toil_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/toilhq/toil"
	"github.com/toilhq/toil/toiltest"
)

type greeterConfig struct {
	Greeting string        `default:"hello" help:"what to say"`
	Port     int           `default:"8080"`
	MaxConns int           `default:"10"`
	Timeout  time.Duration `default:"1s"`
	Tags     []string
	Password string `secret:"true"`
	Token    toil.Secret
}

func (c *greeterConfig) Validate() error {
	if c.Port < 0 {
		return errors.New("port must be 0 or more")
	}
	return nil
}

// change is one ConfigChanged call.
type change struct{ old, new greeterConfig }

type greeter struct {
	toil.Base[greeterConfig]

	mu      sync.Mutex
	changes []change
	changed chan change // each ConfigChanged call, when not nil
}

func (g *greeter) Setup(ctx context.Context) error {
	// Logging the whole config is what people do; secrets must not leak.
	g.Log.Info("config at setup", "config", g.Config(), "token", g.Config().Token)
	return nil
}

func (g *greeter) ConfigChanged(ctx context.Context, old, new *greeterConfig) error {
	g.mu.Lock()
	g.changes = append(g.changes, change{*old, *new})
	g.mu.Unlock()
	if g.changed != nil {
		g.changed <- change{*old, *new}
	}
	return nil
}

func (g *greeter) changeCount() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.changes)
}

func TestConfigPrecedence(t *testing.T) {
	t.Parallel()
	svc := &greeter{}
	s := toiltest.Run(t, svc, toiltest.Name("test.greeter"),
		toiltest.Config("greeting: from-file\nport: 1001\nmax_conns: 1\ntags: [a, b]"),
		toiltest.Env("TOIL_TEST_GREETER_PORT=2002", "TOIL_TEST_GREETER_MAX_CONNS=2"),
		toiltest.Args("--max-conns=3"),
	)
	s.WaitReady()
	got := *svc.Config()
	want := greeterConfig{Greeting: "from-file", Port: 2002, MaxConns: 3, Timeout: time.Second, Tags: []string{"a", "b"}}
	if got.Greeting != want.Greeting || got.Port != want.Port || got.MaxConns != want.MaxConns || got.Timeout != want.Timeout || strings.Join(got.Tags, ",") != "a,b" {
		t.Errorf("config = %+v\nwant %+v (default < file < env < flag)", got, want)
	}
}

func TestUntypedConfigPrecedence(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := filepath.Join(dir, "toil.config.yaml")
	os.WriteFile(file, []byte("hello.world:\n  a: file\n  b: file\n  c: file\nother.service:\n  a: other\n"), 0o644)
	var a, b, c, d string
	svc := func(ctx context.Context, s *toil.S) error {
		a, b, c, d = s.Config.String("a"), s.Config.String("b"), s.Config.String("c"), s.Config.String("d")
		return nil
	}
	err := toil.Run(t.Context(), "hello.world", svc, toil.WithConfigFile(file), toil.WithLogOutput(t.Output()),
		toil.WithEnv("TOIL_HELLO_WORLD_B=env", "TOIL_HELLO_WORLD_C=env"), toil.WithArgs("--c=flag", "--d", "flag"))
	if err != nil {
		t.Fatal(err)
	}
	if a != "file" || b != "env" || c != "flag" || d != "flag" {
		t.Errorf("a, b, c, d = %q %q %q %q; want file env flag flag", a, b, c, d)
	}
}

func TestBadConfigInputIsAClearUsageError(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := filepath.Join(dir, "svc.yaml")
	os.WriteFile(file, []byte("test.greeter:\n  greeting: hi\n  gretting: typo\n"), 0o644)
	badPort := filepath.Join(dir, "port.yaml")
	os.WriteFile(badPort, []byte("test.greeter:\n  port: eighty\n"), 0o644)
	for _, tc := range []struct {
		name string
		opts []toil.Option
		want string
	}{
		{"unknown flag", []toil.Option{toil.WithArgs("--gretting=hi")}, "unknown flag --gretting (did you mean --greeting?); see --help"},
		{"unknown key in file", []toil.Option{toil.WithConfigFile(file)}, file + `:3: unknown key "gretting" in section test.greeter (did you mean "greeting"?)`},
		{"bad value in file", []toil.Option{toil.WithConfigFile(badPort)}, badPort + `:2: test.greeter.port: "eighty" is not an int`},
		{"bad value in env", []toil.Option{toil.WithEnv("TOIL_TEST_GREETER_TIMEOUT=soon")}, `env TOIL_TEST_GREETER_TIMEOUT: test.greeter.timeout: "soon" is not a duration like 5s or 1m30s`},
		{"fails validation", []toil.Option{toil.WithArgs("--password", "x", "--port=-1")}, "config test.greeter: port must be 0 or more"},
		{"missing config file", []toil.Option{toil.WithConfigFile(filepath.Join(dir, "nope.yaml"))}, "nope.yaml: no such file"},
		{"positional argument", []toil.Option{toil.WithArgs("serve")}, `unexpected argument "serve"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := append([]toil.Option{toil.WithEnv(), toil.WithConfigFile(""), toil.WithLogOutput(t.Output())}, tc.opts...)
			err := toil.Run(t.Context(), "test.greeter", &greeter{}, opts...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Run = %v\nwant an error containing %s", err, tc.want)
			}
		})
	}
}

func TestWatchedConfigChangeReloadsLive(t *testing.T) {
	t.Parallel()
	svc := &greeter{changed: make(chan change, 4)}
	s := toiltest.Run(t, svc, toiltest.Name("test.greeter"), toiltest.Config("greeting: before"))
	s.WaitReady()

	s.SetConfig("greeting: after")
	select {
	case c := <-svc.changed:
		if c.old.Greeting != "before" || c.new.Greeting != "after" {
			t.Errorf("ConfigChanged(old %q, new %q), want before → after", c.old.Greeting, c.new.Greeting)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no ConfigChanged within 10s of rewriting the watched config file")
	}
	// ConfigChanged runs before the swap; a reload through the same
	// (serial) loop returns once that one is done. It changes nothing, so
	// it must not call ConfigChanged again.
	if err := s.Reload(); err != nil {
		t.Fatal(err)
	}
	if got := svc.Config().Greeting; got != "after" {
		t.Errorf("after the reload the service sees greeting %q, want after", got)
	}
	if n := svc.changeCount(); n != 1 {
		t.Errorf("ConfigChanged called %d times for one change, want 1", n)
	}
}

// neverWatch keeps the file watcher from reloading during a test that
// reloads explicitly, so counts are exact.
var neverWatch = toiltest.With(toil.WithReloadDebounce(time.Hour))

func TestReloadTriggerAppliesNewConfig(t *testing.T) {
	t.Parallel()
	svc := &greeter{}
	s := toiltest.Run(t, svc, toiltest.Name("test.greeter"), toiltest.Config("port: 1"), neverWatch)
	s.WaitReady()
	s.SetConfig("port: 2")
	if err := s.Reload(); err != nil {
		t.Fatalf("Reload: %v", err)
	}
	if svc.changeCount() != 1 || svc.Config().Port != 2 {
		t.Errorf("after Reload: %d ConfigChanged calls, port %d; want 1 and 2", svc.changeCount(), svc.Config().Port)
	}
}

func TestInvalidReloadKeepsOldConfig(t *testing.T) {
	t.Parallel()
	svc := &greeter{}
	s := toiltest.Run(t, svc, toiltest.Name("test.greeter"), toiltest.Config("port: 1"), neverWatch)
	s.WaitReady()

	s.SetConfig("port: -5")
	err := s.Reload()
	if err == nil || !strings.Contains(err.Error(), "port must be 0 or more") {
		t.Errorf("Reload of an invalid config = %v, want the validation error", err)
	}
	s.SetConfig("port: [")
	err = s.Reload()
	if err == nil || !strings.Contains(err.Error(), "yaml") {
		t.Errorf("Reload of broken YAML = %v, want a YAML error", err)
	}
	if svc.Config().Port != 1 || svc.changeCount() != 0 {
		t.Errorf("after two rejected reloads: port %d, %d ConfigChanged calls; want 1 and 0", svc.Config().Port, svc.changeCount())
	}
	if n := strings.Count(s.Logs(), "config reload rejected; keeping the old config"); n != 2 {
		t.Errorf("log has %d rejection lines, want 2:\n%s", n, s.Logs())
	}
	metrics := get(t, s.AdminURL("/metrics"))
	for _, want := range []string{"toil_config_reload_errors_total 2", "toil_config_last_reload_successful 0"} {
		if !strings.Contains(metrics, want+"\n") {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

// rejecter refuses any config change.
type rejecter struct {
	toil.Base[greeterConfig]
}

func (r *rejecter) ConfigChanged(ctx context.Context, old, new *greeterConfig) error {
	return errors.New("greeting is fixed at start")
}

func TestConfigChangedCanRejectAReload(t *testing.T) {
	t.Parallel()
	svc := &rejecter{}
	s := toiltest.Run(t, svc, toiltest.Name("test.greeter"), toiltest.Config("greeting: a"), neverWatch)
	s.WaitReady()
	s.SetConfig("greeting: b")
	err := s.Reload()
	if err == nil || !strings.Contains(err.Error(), "reload: service (ConfigChanged): greeting is fixed at start") {
		t.Errorf("Reload = %v, want the hook's refusal, named", err)
	}
	if got := svc.Config().Greeting; got != "a" {
		t.Errorf("greeting = %q after a rejected reload, want a", got)
	}
}

func TestSecretsNeverLogged(t *testing.T) {
	t.Parallel()
	svc := &greeter{}
	s := toiltest.Run(t, svc, toiltest.Name("test.greeter"),
		toiltest.Config("password: hunter2\ntoken: tok-123"), neverWatch)
	s.WaitReady()
	svc.Log.Info("by hand", "cfg", *svc.Config(), "ptr", svc.Config(), "redacted", toil.Redacted{V: svc.Config()})
	s.SetConfig("password: hunter3\ntoken: tok-456\ngreeting: hi")
	if err := s.Reload(); err != nil {
		t.Fatal(err)
	}
	logs := s.Logs()
	for _, secret := range []string{"hunter2", "hunter3", "tok-123", "tok-456"} {
		if strings.Contains(logs, secret) {
			t.Errorf("the log contains the secret %q:\n%s", secret, logs)
		}
	}
	if !strings.Contains(logs, "[REDACTED]") || !strings.Contains(logs, "greeting=hello") {
		t.Errorf("the log should show the config with secrets as [REDACTED]:\n%s", logs)
	}
	if !regexp.MustCompile(`changed="?\[greeting password token\]`).MatchString(logs) {
		t.Errorf("the reload line should name the changed keys (not their values):\n%s", logs)
	}
	if got := (toil.Redacted{V: greeterConfig{Password: "pw", Greeting: "g"}}).String(); strings.Contains(got, "pw") || !strings.Contains(got, "greeting=g") {
		t.Errorf("Redacted.String() = %q", got)
	}
}

func TestHelpListsFlagsWithoutSecrets(t *testing.T) {
	t.Parallel()
	var out strings.Builder
	code := runMain(t, &greeter{}, &out, "--help")
	help := out.String()
	if code != 0 {
		t.Errorf("--help exited %d", code)
	}
	for _, want := range []string{"--greeting string", "what to say", "env TOIL_TEST_GREETER_GREETING; default hello", "--max-conns int", "--timeout duration", "--password string"} {
		if !strings.Contains(help, want) {
			t.Errorf("--help lacks %q:\n%s", want, help)
		}
	}
}

func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func runMain(t *testing.T, svc any, out io.Writer, args ...string) int {
	t.Helper()
	return toil.MainExit("test.greeter", svc, args, out, out)
}

func TestSwitchesFileFromConfig(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "switches.yaml"), []byte("checkout: on\n"), 0o644)
	file := filepath.Join(dir, "toil.config.yaml")
	os.WriteFile(file, []byte("toil:\n  switches: switches.yaml\n"), 0o644)
	var on, off bool
	svc := func(ctx context.Context, s *toil.S) error {
		on, off = s.Switch.Active(ctx, "checkout"), s.Switch.Active(ctx, "search")
		return nil
	}
	if err := toil.Run(t.Context(), "hello.world", svc, toil.WithEnv(), toil.WithConfigFile(file), toil.WithLogOutput(t.Output())); err != nil {
		t.Fatal(err)
	}
	if !on || off {
		t.Errorf("checkout active %v, search active %v; want the switches file (relative to the config file) in force", on, off)
	}
	os.WriteFile(filepath.Join(dir, "switches.yaml"), []byte("checkout: maybe\n"), 0o644)
	err := toil.Run(t.Context(), "hello.world", svc, toil.WithEnv(), toil.WithConfigFile(file), toil.WithLogOutput(t.Output()))
	if err == nil || !strings.Contains(err.Error(), "switches.yaml:1") {
		t.Errorf("Run with a bad switches file = %v, want an error naming switches.yaml:1", err)
	}
}
