package toil_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/toilhq/toil"
	"github.com/toilhq/toil/toiltest"
)

// calls records hook calls in order, from any goroutine.
type calls struct {
	mu   sync.Mutex
	list []string
}

func (c *calls) add(s string) {
	c.mu.Lock()
	c.list = append(c.list, s)
	c.mu.Unlock()
}

func (c *calls) get() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.list)
}

// hookMixin is a mixin with every setup and stop hook; it can fail its
// pre-setup or hang in its stop.
type hookMixin struct {
	name    string
	calls   *calls
	failPre error
	hang    chan struct{} // ToilStop waits on it, ignoring ctx
}

func (m *hookMixin) ToilPreSetup(ctx context.Context, env *toil.MixinEnv) error {
	m.calls.add(m.name + ".pre(" + env.Field + ")")
	return m.failPre
}

func (m *hookMixin) ToilPostSetup(ctx context.Context, env *toil.MixinEnv) error {
	m.calls.add(m.name + ".post")
	return nil
}

func (m *hookMixin) ToilStop(ctx context.Context) error {
	m.calls.add(m.name + ".stop")
	if m.hang != nil {
		<-m.hang
	}
	return nil
}

// ordered has a mixin embedded (so its hooks are promoted to ordered
// itself) and two named mixin fields.
type ordered struct {
	toil.Base[struct{}]
	*hookMixin // embedded: promoted hooks must still run once

	A hookMixin
	B hookMixin

	calls *calls
}

func (o *ordered) Setup(ctx context.Context) error {
	o.calls.add("Setup")
	return nil
}

func (o *ordered) Stop(ctx context.Context) error {
	o.calls.add("Stop")
	return nil
}

func newOrdered() *ordered {
	c := &calls{}
	return &ordered{
		calls:     c,
		hookMixin: &hookMixin{name: "E", calls: c},
		A:         hookMixin{name: "A", calls: c},
		B:         hookMixin{name: "B", calls: c},
	}
}

func TestHooksRunOnceInFieldOrderAndStopInReverse(t *testing.T) {
	t.Parallel()
	svc := newOrdered()
	s := toiltest.Run(t, svc, toiltest.Name("test.ordered"))
	s.WaitReady()
	if err := s.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	want := []string{
		"E.pre(hookMixin)", "A.pre(A)", "B.pre(B)", "Setup", "E.post", "A.post", "B.post",
		"Stop", "B.stop", "A.stop", "E.stop",
	}
	if got := svc.calls.get(); !slices.Equal(got, want) {
		t.Errorf("hook calls:\n got %v\nwant %v", got, want)
	}
}

func TestFailingHookIsNamedAndWhatStartedIsStopped(t *testing.T) {
	t.Parallel()
	svc := newOrdered()
	svc.B.failPre = errors.New("redis: connection refused")
	err := toil.Run(t.Context(), "test.ordered", svc, toil.WithEnv(), toil.WithConfigFile(""), toil.WithLogOutput(t.Output()))
	const wantErr = "setup: field B (ToilPreSetup): redis: connection refused"
	if err == nil || !strings.Contains(err.Error(), wantErr) {
		t.Fatalf("Run = %v, want an error containing %q", err, wantErr)
	}
	var he *toil.HookError
	if !errors.As(err, &he) || he.Target != "field B" || he.Hook != "ToilPreSetup" {
		t.Errorf("Run error %v is not a HookError for field B's ToilPreSetup", err)
	}
	// B never started and the service never ran Setup: neither is
	// stopped; A and E, which did start, are, in reverse.
	want := []string{"E.pre(hookMixin)", "A.pre(A)", "B.pre(B)", "A.stop", "E.stop"}
	if got := svc.calls.get(); !slices.Equal(got, want) {
		t.Errorf("hook calls:\n got %v\nwant %v", got, want)
	}
}

// hangs has two mixins and no Stop of its own, so B's ToilStop is the
// first stop hook, and a Setup that can hang.
type hangs struct {
	toil.Base[struct{}]
	A, B      hookMixin
	hangSetup chan struct{}
}

func (h *hangs) Setup(ctx context.Context) error {
	if h.hangSetup != nil {
		<-h.hangSetup // ignoring ctx, as a stuck hook does
	}
	return nil
}

func TestHookThatTimesOutIsNamed(t *testing.T) {
	t.Parallel()
	// The timeouts leave room for a loaded machine to reach the hook that
	// hangs before the budget is spent; only that hook can spend it.
	t.Run("stop", func(t *testing.T) {
		t.Parallel()
		c := &calls{}
		svc := &hangs{A: hookMixin{name: "A", calls: c}, B: hookMixin{name: "B", calls: c, hang: make(chan struct{})}}
		t.Cleanup(func() { close(svc.B.hang) })
		s := toiltest.Run(t, svc, toiltest.Name("test.hangs"), toiltest.With(toil.WithStopTimeout(500*time.Millisecond)))
		s.WaitReady()
		err := s.Stop()
		for _, want := range []string{
			"stop: field B (ToilStop) timed out after 500ms",
			"stop: field A (ToilStop): not run: the stop timeout (500ms) was spent",
		} {
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("Stop = %v, want it to say %q", err, want)
			}
		}
	})
	t.Run("setup", func(t *testing.T) {
		t.Parallel()
		c := &calls{}
		svc := &hangs{A: hookMixin{name: "A", calls: c}, B: hookMixin{name: "B", calls: c}, hangSetup: make(chan struct{})}
		t.Cleanup(func() { close(svc.hangSetup) })
		err := toil.Run(t.Context(), "test.hangs", svc, toil.WithEnv(), toil.WithConfigFile(""),
			toil.WithLogOutput(t.Output()), toil.WithSetupTimeout(500*time.Millisecond))
		const want = "setup: service (Setup) timed out after 500ms"
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("Run = %v, want %q", err, want)
		}
	})
}

// runner has a Run actor that ends on its own.
type runner struct {
	toil.Base[struct{}]
	err error
}

func (r *runner) Run(ctx context.Context) error { return r.err }

func TestFirstActorToReturnStopsTheService(t *testing.T) {
	t.Parallel()
	err := toil.Run(t.Context(), "test.runner", &runner{}, toil.WithEnv(), toil.WithConfigFile(""), toil.WithLogOutput(t.Output()))
	if err != nil {
		t.Errorf("Run with a Run that returns nil = %v, want nil", err)
	}
	err = toil.Run(t.Context(), "test.runner", &runner{err: errors.New("queue gone")}, toil.WithEnv(), toil.WithConfigFile(""), toil.WithLogOutput(t.Output()))
	if err == nil || !strings.Contains(err.Error(), "run: service (Run): queue gone") {
		t.Errorf("Run with a failing Run = %v, want it named", err)
	}
}

func TestFunctionServiceEndsWithItsResult(t *testing.T) {
	t.Parallel()
	var got string
	hello := func(ctx context.Context, s *toil.S) error {
		got = s.Name + " " + s.Config.String("greeting")
		return nil
	}
	err := toil.Run(t.Context(), "hello.world", hello, toil.WithEnv(), toil.WithConfigFile(""),
		toil.WithArgs("--greeting=hi"), toil.WithLogOutput(t.Output()))
	if err != nil || got != "hello.world hi" {
		t.Errorf("Run = %v and the service saw %q; want nil and %q", err, got, "hello.world hi")
	}
	boom := func(ctx context.Context, s *toil.S) error { return errors.New("boom") }
	if err := toil.Run(t.Context(), "hello.boom", toil.Func(boom), toil.WithEnv(), toil.WithConfigFile(""), toil.WithLogOutput(t.Output())); err == nil || err.Error() != "boom" {
		t.Errorf("Run of a failing function = %v, want boom", err)
	}
}

func TestNotAServiceIsAUsageError(t *testing.T) {
	t.Parallel()
	type plain struct{}
	err := toil.Run(t.Context(), "x.y", &plain{}, toil.WithEnv(), toil.WithLogOutput(t.Output()))
	if err == nil || !strings.Contains(err.Error(), "a pointer to a struct embedding toil.Base") {
		t.Errorf("Run(&plain{}) = %v, want it to say what a service is", err)
	}
}

func TestServiceName(t *testing.T) {
	t.Parallel()
	if got := toil.ServiceName(&ordered{}); got != "toil_test.ordered" {
		t.Errorf("ServiceName(&ordered{}) = %q", got)
	}
}

// panicky panics in its pre-setup.
type panicky struct{}

func (panicky) ToilPreSetup(ctx context.Context, env *toil.MixinEnv) error { panic("bad wiring") }

func TestPanickingHookIsAnErrorNamingIt(t *testing.T) {
	t.Parallel()
	svc := &struct {
		toil.Base[struct{}]
		Cache panicky
	}{}
	err := toil.Run(t.Context(), "test.panicky", svc, toil.WithEnv(), toil.WithConfigFile(""), toil.WithLogOutput(t.Output()))
	if err == nil || !strings.Contains(err.Error(), "setup: field Cache (ToilPreSetup): panic: bad wiring") {
		t.Errorf("Run = %v, want the panic as an error naming field Cache", err)
	}
}
