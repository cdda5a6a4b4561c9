package toil_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/toilhq/toil"
	"github.com/toilhq/toil/toiltest"
)

// kvConfig is a mixin's typed config, as a Redis mixin would have.
type kvConfig struct {
	URL  string `default:"redis://localhost:6379" env:"REDIS_URL"`
	Pool int    `default:"4"`
}

func (c *kvConfig) Validate() error {
	if c.Pool < 1 {
		return errors.New("pool must be at least 1")
	}
	return nil
}

// kvMixin is a mixin with typed config, a reload hook and an actor.
type kvMixin struct {
	env     *toil.MixinEnv
	cfg     *kvConfig
	running chan struct{}

	mu      sync.Mutex
	changes []string
}

func (m *kvMixin) ToilConfig() any { return &kvConfig{} }

func (m *kvMixin) ToilPreSetup(ctx context.Context, env *toil.MixinEnv) error {
	m.env, m.cfg = env, env.Config.(*kvConfig)
	return nil
}

func (m *kvMixin) ToilConfigChanged(ctx context.Context, old, new any) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.changes = append(m.changes, old.(*kvConfig).URL+" → "+new.(*kvConfig).URL)
	return nil
}

func (m *kvMixin) ToilActors() []toil.Actor {
	return []toil.Actor{{Name: "loop", Run: func(ctx context.Context) error {
		close(m.running)
		<-ctx.Done()
		return nil
	}}}
}

type kvService struct {
	toil.Base[struct{ Name string }]
	KV kvMixin
}

func TestMixinGetsItsOwnConfigSection(t *testing.T) {
	t.Parallel()
	svc := &kvService{KV: kvMixin{running: make(chan struct{})}}
	s := toiltest.Run(t, svc, toiltest.Name("test.kv"),
		toiltest.Config("name: svc\nkv:\n  url: redis://file:1\n  pool: 8"),
		toiltest.Env("REDIS_URL=redis://env:2"),
		toiltest.Args("--kv.pool=9"),
		neverWatch,
	)
	s.WaitReady()
	<-svc.KV.running // the mixin's actor runs beside the service
	if got := *svc.KV.cfg; got != (kvConfig{URL: "redis://env:2", Pool: 9}) {
		t.Errorf("mixin config = %+v, want the env tag over the file and the flag over both", got)
	}
	if svc.KV.env.Section != "kv" || svc.KV.env.Field != "KV" || svc.KV.env.Owner != svc {
		t.Errorf("MixinEnv = %+v", svc.KV.env)
	}
	if svc.Config().Name != "svc" {
		t.Errorf("service config name = %q, want svc", svc.Config().Name)
	}

}

func TestMixinReloadAndValidation(t *testing.T) {
	t.Parallel()
	svc := &kvService{KV: kvMixin{running: make(chan struct{})}}
	s := toiltest.Run(t, svc, toiltest.Name("test.kv"), toiltest.Config("kv: {url: redis://a}"), neverWatch)
	s.WaitReady()

	s.SetConfig("kv: {url: redis://b, pool: 0}")
	if err := s.Reload(); err == nil || !strings.Contains(err.Error(), "config test.kv.kv: pool must be at least 1") {
		t.Errorf("Reload with pool 0 = %v, want the mixin config's validation error", err)
	}
	s.SetConfig("kv: {url: redis://b}")
	if err := s.Reload(); err != nil {
		t.Fatal(err)
	}
	svc.KV.mu.Lock()
	defer svc.KV.mu.Unlock()
	if len(svc.KV.changes) != 1 || svc.KV.changes[0] != "redis://a → redis://b" {
		t.Errorf("ToilConfigChanged calls = %q, want one, a → b", svc.KV.changes)
	}
	if got := svc.KV.env.Values.String("url"); got != "redis://b" {
		t.Errorf("MixinEnv.Values url = %q after reload, want redis://b", got)
	}
}

func TestUnknownMixinKeyIsAnError(t *testing.T) {
	t.Parallel()
	err := toil.Run(t.Context(), "test.kv", &kvService{}, toil.WithEnv(), toil.WithConfigFile(""),
		toil.WithLogOutput(t.Output()), toil.WithArgs("--kv.pool=2", "--kv.size=3"))
	if err == nil || !strings.Contains(err.Error(), "unknown flag --kv.size") {
		t.Errorf("Run = %v, want unknown flag --kv.size", err)
	}
}
