//go:build linux

package supervise

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/toilhq/toil/devloop/proxy"
	"github.com/toilhq/toil/layout"
)

// Workers of a run: service share the socket the supervisor holds: every
// one of them answers on the service's address, each as itself.
func TestWorkersShareTheHeldSocket(t *testing.T) {
	t.Parallel()
	l := testLayout(t, runSvc("web", 3))
	h := start(t, l, map[string]string{"web": bin.worker})
	h.waitReady()

	url := "http://" + h.addr("web") + "/"
	seen := map[string]bool{}
	for i := 0; i < 3000 && len(seen) < 3; i++ {
		body, err := get(url)
		if err != nil {
			t.Fatal(err)
		}
		if field(body, "svc") != "web" {
			t.Fatalf("answer %q is not from web", body)
		}
		seen[field(body, "worker")] = true
	}
	if len(seen) != 3 {
		t.Fatalf("3000 requests reached workers %v, want all of 1, 2, 3", slices.Sorted(mapsKeys(seen)))
	}
	// The published backend is the one shared socket.
	h.mu.Lock()
	got := h.backends["web"]
	h.mu.Unlock()
	if want := []Backend{{ID: "web", Addr: h.addr("web")}}; !slices.Equal(got, want) {
		t.Errorf("backends of web = %v, want %v", got, want)
	}
}

// eofHint explains the known cause of an EOF on a fresh connection while
// a toil worker drains.
func eofHint(failed []string) string {
	if !slices.ContainsFunc(failed, func(s string) bool { return strings.HasSuffix(s, ": EOF") }) {
		return ""
	}
	return "\n(an EOF while the old toil workers drain: net/http drops a request it reads after Shutdown began, golang/go#75591; toil.Serve must stop accepting and let accepted connections reach the handler before Shutdown — see bench/devloop/supervise/README.md)"
}

func mapsKeys(m map[string]bool) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// A rollout under continuous load replaces every worker with the new
// build and fails no request.
func TestRollUnderLoadDropsNothing(t *testing.T) {
	t.Parallel()
	l := testLayout(t, runSvc("web", 2))
	h := start(t, l, map[string]string{"web": bin.worker})
	h.waitReady()
	oldPIDs := h.pids("web")

	url := "http://" + h.addr("web") + "/"
	ld := startLoad(8, 100000, func(int) string { return url })
	defer ld.finish()
	ld.markAfter()
	ld.waitEveryClient(t, 5) // the load is on before the rollout

	if err := h.sv.Roll(context.Background(), "web", bin.workerV2); err != nil {
		t.Fatal(err)
	}
	st := h.status("web")
	for _, w := range st.Workers {
		if w.Binary != bin.workerV2 || w.State != StateReady || slices.Contains(oldPIDs, w.PID) {
			t.Errorf("after the roll %s is pid %d, %s, %s; want a new ready worker of %s", w.ID, w.PID, w.State, w.Binary, bin.workerV2)
		}
	}
	// The old workers drain and exit, on SIGTERM, not SIGKILL.
	exits := h.waitEvents("the old workers to exit", 2, func(e Event) bool {
		return e.Kind == EventExited && slices.Contains(oldPIDs, e.PID)
	})
	for _, e := range exits {
		if !e.Expected || e.Reason != "exit status 0" {
			t.Errorf("old worker %d: %s, expected=%v; want a clean exit it was asked for; it said:\n%s", e.PID, e.Reason, e.Expected, h.linesOf(e.PID))
		}
	}
	// Keep the load on a while after the old workers are gone.
	ld.markAfter()
	ld.mu.Lock()
	clear(ld.after)
	ld.mu.Unlock()
	ld.waitEveryClient(t, 20)
	ld.finish()

	if len(ld.failed) > 0 {
		t.Errorf("%d of %d requests failed during the rollout; first: %s%s", len(ld.failed), len(ld.failed)+ld.ok, ld.failed[0], eofHint(ld.failed))
	}
	if ld.bins["worker-v2"] == 0 {
		t.Errorf("no answer came from the new build: %v", ld.bins)
	}
	t.Logf("%d requests, by binary %v", ld.ok, ld.bins)
	if done := h.waitEvents("roll-done", 1, kind(EventRollDone, "web")); len(done) != 1 {
		t.Errorf("want one roll-done event, got %v", done)
	}
}

// A new build that cannot start, or never gets ready, is stopped; the old
// workers keep serving; the failure says which worker, why, and what it
// printed.
func TestFailedSuccessorKeepsTheOldWorkers(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, binary, reason, line string
	}{
		{"exits at start", bin.workerExit, "exited before it was ready: exit status 1", "fixture: this build is broken, refusing to start"},
		{"never ready", bin.workerNoReady, "not ready within 1.5s (ready_timeout)", "fixture: setting up forever"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			web := runSvc("web", 2)
			web.ReadyTimeout = 1500 * time.Millisecond
			web.Env = layout.Env{"TOIL_SETUP_TIMEOUT": "10m"}
			l := testLayout(t, web)
			h := start(t, l, map[string]string{"web": bin.worker})
			h.waitReady()
			oldPIDs := h.pids("web")

			err := h.sv.Roll(context.Background(), "web", tc.binary)
			var re *RollError
			if !errors.As(err, &re) {
				t.Fatalf("Roll = %v, want a *RollError", err)
			}
			if re.Worker != 1 || re.Reason != tc.reason || re.Replaced != 0 || re.PID == 0 {
				t.Errorf("RollError = %+v, want worker 1, reason %q, none replaced", re, tc.reason)
			}
			if !slices.ContainsFunc(re.Lines, func(s string) bool { return strings.Contains(s, tc.line) }) {
				t.Errorf("RollError.Lines = %q, want the worker's line %q", re.Lines, tc.line)
			}
			if !strings.Contains(err.Error(), "the old workers keep serving") {
				t.Errorf("error %q does not say the old workers keep serving", err)
			}
			failed := h.waitEvents("roll-failed", 1, kind(EventRollFailed, "web"))
			if len(failed) != 1 || failed[0].PID != re.PID || len(failed[0].Lines) == 0 {
				t.Errorf("roll-failed events = %v, want one for pid %d with its output", failed, re.PID)
			}
			// The failed worker does not linger.
			waitExit(t, re.PID)

			// Nothing changed for the old workers, which still answer.
			if got := h.pids("web"); !slices.Equal(got, oldPIDs) {
				t.Errorf("workers after the failed roll: %v, want the old %v", got, oldPIDs)
			}
			for _, w := range h.status("web").Workers {
				if w.State != StateReady || w.Binary != bin.worker || w.Successor != nil {
					t.Errorf("%s: %s on %s (successor %v), want ready on the old binary", w.ID, w.State, w.Binary, w.Successor)
				}
			}
			body, err := get("http://" + h.addr("web") + "/")
			if err != nil || field(body, "bin") != "worker" {
				t.Errorf("after the failed roll: %q, %v; want an answer from the old build", body, err)
			}
			if exits := h.eventsOf(func(e Event) bool { return e.Kind == EventExited && slices.Contains(oldPIDs, e.PID) }); len(exits) > 0 {
				t.Errorf("old workers exited: %v", exits)
			}
		})
	}
}

// A worker that keeps crashing is restarted with a doubling backoff and
// shown as crashlooping; another service is not touched.
func TestCrashLoopBacksOffAndSparesOthers(t *testing.T) {
	t.Parallel()
	l := testLayout(t, runSvc("crashy", 1), runSvc("web", 1))
	h := start(t, l, map[string]string{"crashy": bin.workerExit, "web": bin.worker}, func(o *Options) {
		o.BackoffMin, o.BackoffMax, o.BackoffReset = 20*time.Millisecond, 80*time.Millisecond, time.Hour
	})
	h.waitReady("web")
	webPID := h.pids("web")[0]

	crashes := h.waitEvents("4 crashes", 4, kind(EventCrashed, "crashy"))
	for i, want := range []time.Duration{20 * time.Millisecond, 40 * time.Millisecond, 80 * time.Millisecond, 80 * time.Millisecond} {
		if crashes[i].Delay != want || crashes[i].Restarts != i+1 {
			t.Errorf("crash %d: restart %d after %s, want restart %d after %s", i+1, crashes[i].Restarts, crashes[i].Delay, i+1, want)
		}
		if crashes[i].Reason != "exit status 1" || !slices.ContainsFunc(crashes[i].Lines, func(s string) bool { return strings.Contains(s, "refusing to start") }) {
			t.Errorf("crash %d: %q, lines %q; want exit status 1 and the worker's last words", i+1, crashes[i].Reason, crashes[i].Lines)
		}
	}
	w := h.status("crashy").Workers[0]
	if w.State != StateCrashlooping || w.Restarts < 4 || w.Error != "exit status 1" {
		t.Errorf("crashy.1 is %s after %d restarts (%q), want crashlooping, ≥4, exit status 1", w.State, w.Restarts, w.Error)
	}
	web := h.status("web").Workers[0]
	if web.State != StateReady || web.PID != webPID || web.Restarts != 0 {
		t.Errorf("web.1 is %s, pid %d, %d restarts; want the same ready worker %d", web.State, web.PID, web.Restarts, webPID)
	}
	if _, err := get("http://" + h.addr("web") + "/"); err != nil {
		t.Errorf("web while crashy crashloops: %v", err)
	}
}

// A main: service's workers each get a PORT; the supervisor publishes the
// ready ones, and a rollout through the front proxy, and through the
// service's own address, fails no request.
func TestMainServiceRollsWithoutFailures(t *testing.T) {
	t.Parallel()
	l := testLayout(t, mainSvc("legacy", 2))
	px := proxy.New(proxy.Options{})
	if err := px.SetRoutes([]proxy.Route{{Path: "/", Service: "legacy"}}); err != nil {
		t.Fatal(err)
	}
	h := start(t, l, map[string]string{"legacy": bin.plain}, func(o *Options) {
		record := o.OnBackends
		o.OnBackends = func(svc string, bs []Backend) {
			pbs := make([]proxy.Backend, len(bs))
			for i, b := range bs {
				pbs[i] = proxy.Backend{ID: b.ID, Addr: b.Addr}
			}
			if err := px.SetBackends(svc, pbs); err != nil {
				t.Error(err)
			}
			record(svc, bs)
		}
	})
	srv := &http.Server{Handler: px}
	pln := listenLoopback(t)
	go srv.Serve(pln)
	t.Cleanup(func() { srv.Close() })
	h.waitReady()

	// Each worker has its own port, and both are published.
	st := h.status("legacy")
	h.mu.Lock()
	published := slices.Clone(h.backends["legacy"])
	h.mu.Unlock()
	want := []Backend{
		{ID: "legacy.1", Addr: fmt.Sprintf("127.0.0.1:%d", st.Workers[0].Port)},
		{ID: "legacy.2", Addr: fmt.Sprintf("127.0.0.1:%d", st.Workers[1].Port)},
	}
	if !slices.Equal(published, want) || want[0].Addr == want[1].Addr {
		t.Fatalf("published %v, want %v", published, want)
	}

	viaProxy := "http://" + pln.Addr().String() + "/"
	direct := "http://" + st.Addr + "/"
	ld := startLoad(8, 100000, func(i int) string {
		if i%2 == 0 {
			return viaProxy
		}
		return direct
	})
	defer ld.finish()
	ld.markAfter()
	ld.waitEveryClient(t, 5)
	oldPIDs := h.pids("legacy")
	if err := h.sv.Roll(context.Background(), "legacy", bin.plainV2); err != nil {
		t.Fatal(err)
	}
	h.waitEvents("the old workers to exit", 2, func(e Event) bool {
		return e.Kind == EventExited && slices.Contains(oldPIDs, e.PID)
	})
	ld.mu.Lock()
	clear(ld.after)
	ld.mu.Unlock()
	ld.waitEveryClient(t, 20)
	ld.finish()
	if len(ld.failed) > 0 {
		t.Errorf("%d of %d requests failed during the rollout; first: %s", len(ld.failed), len(ld.failed)+ld.ok, ld.failed[0])
	}
	if ld.bins["plain-v2"] == 0 {
		t.Errorf("no answer from the new build: %v", ld.bins)
	}
	t.Logf("%d requests, by binary %v", ld.ok, ld.bins)

	h.mu.Lock()
	published = slices.Clone(h.backends["legacy"])
	h.mu.Unlock()
	st = h.status("legacy")
	for i, w := range st.Workers {
		if w.Binary != bin.plainV2 || published[i].Addr != fmt.Sprintf("127.0.0.1:%d", w.Port) {
			t.Errorf("%s after the roll: %s on port %d, published %v", w.ID, w.Binary, w.Port, published)
		}
	}
}
