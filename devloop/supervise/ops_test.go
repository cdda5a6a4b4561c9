//go:build linux

package supervise

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/toilhq/toil/layout"
)

// Scaling up starts workers that serve from the same socket; scaling down
// stops the highest numbered ones and leaves the others alone.
func TestScale(t *testing.T) {
	t.Parallel()
	l := testLayout(t, runSvc("web", 1), mainSvc("legacy", 1))
	h := start(t, l, map[string]string{"web": bin.worker, "legacy": bin.plain})
	h.waitReady()
	first := h.pids("web")[0]

	if err := h.sv.Scale(context.Background(), "web", 3); err != nil {
		t.Fatal(err)
	}
	if err := h.sv.Scale(context.Background(), "legacy", 2); err != nil {
		t.Fatal(err)
	}
	h.waitReady()
	if got := len(h.status("web").Workers); got != 3 {
		t.Fatalf("web has %d workers after scaling to 3", got)
	}
	h.waitFor("2 legacy backends", func() bool { return len(h.backends["legacy"]) == 2 })

	if err := h.sv.Scale(context.Background(), "web", 1); err != nil {
		t.Fatal(err)
	}
	st := h.status("web")
	if len(st.Workers) != 1 || st.Workers[0].PID != first {
		t.Errorf("after scaling web to 1: %+v, want only the first worker, pid %d", st.Workers, first)
	}
	exits := h.waitEvents("2 web workers to exit", 2, func(e Event) bool { return e.Kind == EventExited && e.Service == "web" })
	if len(exits) != 2 || !exits[0].Expected || !exits[1].Expected || exits[0].Worker == 1 || exits[1].Worker == 1 {
		t.Errorf("exits after scaling down: %v, want web.2 and web.3, stopped on purpose", exits)
	}
	if err := h.sv.Scale(context.Background(), "web", 0); err == nil {
		t.Error("Scale to 0 workers: no error")
	}
	if err := h.sv.Scale(context.Background(), "nope", 2); err == nil || !strings.Contains(err.Error(), `no service "nope"; there are web, legacy`) {
		t.Errorf("Scale of an unknown service: %v", err)
	}
}

// Apply changes only what differs: a removed service stops, an added one
// starts, a changed environment rolls the service onto it.
func TestApplyLayoutChanges(t *testing.T) {
	t.Parallel()
	l1 := testLayout(t, runSvc("web", 1), mainSvc("legacy", 1), runSvc("quiet", 1))
	h := start(t, l1, map[string]string{"web": bin.worker, "legacy": bin.plain, "quiet": bin.worker})
	h.waitReady()
	oldWeb, oldQuiet := h.pids("web")[0], h.pids("quiet")[0]
	webAddr := h.addr("web")

	web := runSvc("web", 2)
	web.Env = layout.Env{"GREETING": "hi"}
	l2 := &layout.Layout{Name: "test", Dir: l1.Dir, Services: []*layout.Service{web, runSvc("quiet", 1), runSvc("api", 1)}}
	l2.Default()
	if err := h.sv.Apply(context.Background(), l2, map[string]string{"api": bin.worker}); err != nil {
		t.Fatal(err)
	}
	h.waitReady()

	var names []string
	for _, st := range h.sv.Status() {
		names = append(names, st.Name)
	}
	if !slices.Equal(names, []string{"web", "quiet", "api"}) {
		t.Errorf("services after Apply: %v", names)
	}
	h.waitFor("legacy to have no backends", func() bool { bs, ok := h.backends["legacy"]; return ok && len(bs) == 0 })
	if got := h.status("web"); len(got.Workers) != 2 || slices.Contains(h.pids("web"), oldWeb) || got.Addr != webAddr {
		t.Errorf("web after Apply: %+v; want 2 new workers on the same address %s", got, webAddr)
	}
	for _, pid := range h.pids("web") {
		env, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
		if err != nil || !slices.Contains(strings.Split(string(env), "\x00"), "GREETING=hi") {
			t.Errorf("web worker %d lacks the new env GREETING=hi (%v)", pid, err)
		}
	}
	if got := h.pids("quiet")[0]; got != oldQuiet {
		t.Errorf("quiet, unchanged, was restarted: pid %d, was %d", got, oldQuiet)
	}
	if body, err := get("http://" + h.addr("api") + "/"); err != nil || field(body, "svc") != "api" {
		t.Errorf("api after Apply: %q, %v", body, err)
	}
	legacyExits := h.waitEvents("legacy to exit", 1, func(e Event) bool { return e.Kind == EventExited && e.Service == "legacy" })
	if len(legacyExits) != 1 || !legacyExits[0].Expected {
		t.Errorf("legacy exits: %v, want one, asked for", legacyExits)
	}
}

// SIGHUP reloads a worker's config in place: RELOADING=1, then READY=1,
// and no new process.
func TestReloadSendsSIGHUP(t *testing.T) {
	t.Parallel()
	l := testLayout(t, runSvc("web", 2))
	h := start(t, l, map[string]string{"web": bin.worker})
	h.waitReady()
	before := h.pids("web")
	if err := h.sv.Reload("web"); err != nil {
		t.Fatal(err)
	}
	h.waitEvents("both workers reloaded", 2, kind(EventReloaded, "web"))
	if got := h.pids("web"); !slices.Equal(got, before) {
		t.Errorf("pids after reload %v, want the same %v", got, before)
	}
	if n := len(h.eventsOf(kind(EventReloading, "web"))); n != 2 {
		t.Errorf("%d reloading events, want 2", n)
	}
}

// A rollout whose context ends (a newer build came) stops the worker it
// was starting and leaves the old ones.
func TestRollCancelled(t *testing.T) {
	t.Parallel()
	web := runSvc("web", 1)
	web.Env = layout.Env{"TOIL_SETUP_TIMEOUT": "10m"}
	l := testLayout(t, web)
	h := start(t, l, map[string]string{"web": bin.worker})
	h.waitReady()
	old := h.pids("web")[0]

	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- h.sv.Roll(ctx, "web", bin.workerNoReady) }()
	started := h.waitEvents("the new worker to start", 2, kind(EventStarted, "web"))
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("Roll = %v, want context.Canceled", err)
	}
	h.waitEvents("roll-cancelled", 1, kind(EventRollCancelled, "web"))
	waitExit(t, started[1].PID)
	if got := h.status("web").Workers[0]; got.PID != old || got.State != StateReady {
		t.Errorf("web.1 after a cancelled roll: %+v, want the old ready worker %d", got, old)
	}
}

// A unix socket address works like a TCP one, and a socket file left by a
// killed supervisor does not stop the next one from binding it.
func TestUnixSocket(t *testing.T) {
	t.Parallel()
	web := runSvc("web", 2)
	web.Listen = layout.Listen{Network: "unix", Addr: "run/web.sock"}
	l := testLayout(t, web)
	path := filepath.Join(l.Dir, "run", "web.sock")
	// What a killed supervisor leaves: a socket file nobody listens on.
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	stale, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	stale.(*net.UnixListener).SetUnlinkOnClose(false)
	stale.Close()

	h := start(t, l, map[string]string{"web": bin.worker})
	h.waitReady()
	if got := h.addr("web"); got != path {
		t.Errorf("web's address is %q, want %q", got, path)
	}
	c := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", path)
	}}}
	defer c.CloseIdleConnections()
	body, err := getWith(c, "http://web/")
	if err != nil || field(body, "svc") != "web" {
		t.Fatalf("GET over %s: %q, %v", path, body, err)
	}
}

// What a person gets wrong gets a clear error: an address in use, a
// missing binary.
func TestStartErrors(t *testing.T) {
	t.Parallel()
	busy := listenLoopback(t)
	defer busy.Close()
	web := runSvc("web", 1)
	web.Listen = layout.Listen{Network: "tcp", Addr: busy.Addr().String()}
	web.Pos = layout.Pos{Line: 3, Col: 3}
	l := testLayout(t, web)
	l.File = "toil.yaml"
	h := newHarness(t)
	_, err := New(h.options(l))
	port := busy.Addr().(*net.TCPAddr).Port
	want := fmt.Sprintf("toil.yaml:3: services.web.listen: %s is in use by another program (see which with: ss -ltnp 'sport = :%d'); stop it, or change listen in toil.yaml", busy.Addr(), port)
	if err == nil || err.Error() != want {
		t.Errorf("New with a busy address: %v\nwant: %s", err, want)
	}

	l = testLayout(t, runSvc("web", 1), runSvc("api", 1))
	sv, err := New(h.options(l))
	if err != nil {
		t.Fatal(err)
	}
	defer sv.Stop(context.Background())
	err = sv.Start(context.Background(), map[string]string{"web": filepath.Join(t.TempDir(), "missing")})
	if err == nil || !strings.Contains(err.Error(), "no binary for service api") || !strings.Contains(err.Error(), "web: binary: stat ") {
		t.Errorf("Start with web's binary missing and none for api: %v", err)
	}
}

// RollAll (toil up reload) rolls every service onto its binary, which was
// replaced in place; a service waits for those it depends on at start,
// and a dependency that never gets ready delays it only by its
// ready_timeout, with a warning.
func TestRollAllAndDepends(t *testing.T) {
	t.Parallel()
	db := runSvc("db", 1)
	db.ReadyTimeout = 300 * time.Millisecond
	api := runSvc("api", 1)
	api.Depends = []string{"db"}
	web := mainSvc("web", 1)
	l := testLayout(t, api, db, web)
	dir := t.TempDir()
	apiBin, webBin := filepath.Join(dir, "api"), filepath.Join(dir, "web")
	if err := copyFile(bin.worker, apiBin); err != nil {
		t.Fatal(err)
	}
	if err := copyFile(bin.plain, webBin); err != nil {
		t.Fatal(err)
	}
	h := start(t, l, map[string]string{"db": bin.workerExit, "api": apiBin, "web": webBin}, func(o *Options) {
		o.BackoffMin = time.Hour // db crashes once and stays down
	})
	h.waitReady("api", "web")
	warn := h.waitEvents("a warning about api", 1, kind(EventWarning, "api"))
	if len(warn) != 1 || !strings.Contains(warn[0].Reason, "db, which it depends on, is not ready after 300ms") {
		t.Errorf("warnings for api: %v", warn)
	}
	if started := h.waitEvents("api to start", 1, kind(EventStarted, "api")); len(started) != 1 || started[0].Time.Before(h.eventsOf(kind(EventStarted, "db"))[0].Time.Add(300*time.Millisecond)) {
		t.Errorf("api started %v, want once, after db's ready_timeout", started)
	}

	before := map[string]int{"api": h.pids("api")[0], "web": h.pids("web")[0]}
	// A new build put in place of the old binaries, as `toil build` does.
	if err := copyFile(bin.workerV2, apiBin+".new"); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(apiBin+".new", apiBin); err != nil {
		t.Fatal(err)
	}
	if err := h.sv.RollAll(context.Background()); err == nil || !strings.Contains(err.Error(), "roll db") {
		t.Errorf("RollAll = %v, want db's failure (it cannot start) and no other", err)
	}
	for name, pid := range before {
		if got := h.pids(name)[0]; got == pid {
			t.Errorf("%s was not rolled: still pid %d", name, pid)
		}
		waitExit(t, pid)
	}
	if body, err := get("http://" + h.addr("api") + "/"); err != nil || field(body, "bin") != "api" {
		t.Errorf("api after RollAll: %q, %v", body, err)
	}
}

// A worker whose binary disappeared cannot be restarted: it shows as
// failed, saying why, and starts again once the binary is back.
func TestFailedStartRecovers(t *testing.T) {
	t.Parallel()
	binPath := filepath.Join(t.TempDir(), "legacy")
	if err := copyFile(bin.plain, binPath); err != nil {
		t.Fatal(err)
	}
	l := testLayout(t, mainSvc("legacy", 1))
	h := start(t, l, map[string]string{"legacy": binPath}, func(o *Options) {
		o.BackoffMin, o.BackoffMax = 10*time.Millisecond, 20*time.Millisecond
	})
	h.waitReady()
	if err := os.Remove(binPath); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(h.pids("legacy")[0], syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	failed := h.waitEvents("a failed start", 1, kind(EventStartFailed, "legacy"))
	if !strings.Contains(failed[0].Reason, "no such file or directory") {
		t.Errorf("start-failed reason %q does not say the binary is missing", failed[0].Reason)
	}
	w := h.status("legacy").Workers[0]
	if w.State != StateFailed || w.PID != 0 || !strings.Contains(w.Error, "no such file") {
		t.Errorf("legacy.1 = %+v, want failed, no pid, the reason", w)
	}
	if err := copyFile(bin.plain, binPath); err != nil {
		t.Fatal(err)
	}
	h.waitReady()
	if _, err := get("http://" + h.addr("legacy") + "/"); err != nil {
		t.Errorf("legacy after its binary came back: %v", err)
	}
}
