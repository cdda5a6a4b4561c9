package toil_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/toilhq/toil"
	"github.com/toilhq/toil/toiltest"
)

// dbMixin registers a readiness check that fails until connected.
type dbMixin struct {
	connected atomic.Bool
}

func (d *dbMixin) ToilPreSetup(ctx context.Context, env *toil.MixinEnv) error {
	env.AddReadyCheck("ping", func(ctx context.Context) error {
		if !d.connected.Load() {
			return errors.New("not connected")
		}
		return nil
	})
	return nil
}

// gated blocks in Setup and Stop until the test lets it go.
type gated struct {
	toil.Base[struct{}]
	DB dbMixin

	inSetup, setupGo chan struct{}
	inStop, stopGo   chan struct{}
}

func (g *gated) Setup(ctx context.Context) error {
	close(g.inSetup)
	<-g.setupGo
	g.Stats.Counter("widgets_total", "Widgets made.").Add(3)
	return nil
}

func (g *gated) Stop(ctx context.Context) error {
	close(g.inStop)
	<-g.stopGo
	return nil
}

func status(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 64<<10)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return resp.StatusCode, b.String()
}

func TestAdminEndpoints(t *testing.T) {
	t.Parallel()
	svc := &gated{inSetup: make(chan struct{}), setupGo: make(chan struct{}), inStop: make(chan struct{}), stopGo: make(chan struct{})}
	s := toiltest.Run(t, svc, toiltest.Name("test.admin"))

	<-svc.inSetup
	if code, _ := status(t, s.AdminURL("/healthz")); code != http.StatusOK {
		t.Errorf("/healthz during setup: %d, want 200", code)
	}
	if code, body := status(t, s.AdminURL("/readyz")); code != http.StatusServiceUnavailable || !strings.Contains(body, "setup") {
		t.Errorf("/readyz during setup: %d %q, want 503 naming setup", code, body)
	}

	close(svc.setupGo)
	s.WaitReady()
	if code, body := status(t, s.AdminURL("/readyz")); code != http.StatusServiceUnavailable || !strings.Contains(body, "DB.ping: not connected") {
		t.Errorf("/readyz with a failing mixin check: %d %q, want 503 naming DB.ping", code, body)
	}
	svc.DB.connected.Store(true)
	if code, _ := status(t, s.AdminURL("/readyz")); code != http.StatusOK {
		t.Errorf("/readyz when ready: %d, want 200", code)
	}

	code, metrics := status(t, s.AdminURL("/metrics"))
	for _, want := range []string{
		`toil_lifecycle_state{state="running"} 1`,
		`toil_hook_duration_seconds{hook="Setup",phase="setup",target="service"}`,
		`toil_hook_duration_seconds{hook="ToilPreSetup",phase="setup",target="DB"}`,
		`toil_service_info{service="test.admin",version="",worker="1"} 1`,
		`toil_config_reloads_total 0`,
		`widgets_total 3`,
		`go_goroutines`,
		`go_build_info`,
	} {
		if code != http.StatusOK || !strings.Contains(metrics, want) {
			t.Errorf("/metrics (%d) lacks %s", code, want)
		}
	}
	if code, body := status(t, s.AdminURL("/debug/pprof/goroutine?debug=1")); code != http.StatusOK || !strings.Contains(body, "goroutine profile") {
		t.Errorf("/debug/pprof/goroutine: %d %.80q", code, body)
	}

	stopped := make(chan error, 1)
	go func() { stopped <- s.Stop() }()
	<-svc.inStop
	if code, body := status(t, s.AdminURL("/readyz")); code != http.StatusServiceUnavailable || !strings.Contains(body, "stopping") {
		t.Errorf("/readyz while stopping: %d %q, want 503 naming stopping", code, body)
	}
	close(svc.stopGo)
	if err := <-stopped; err != nil {
		t.Errorf("Stop: %v", err)
	}
}
