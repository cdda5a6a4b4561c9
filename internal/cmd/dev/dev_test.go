package dev

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"strings"
	"testing"

	"github.com/toilhq/toil/devloop"
	"github.com/toilhq/toil/internal/cmdutil"
	"github.com/toilhq/toil/layout"
)

func testFactory() *cmdutil.Factory {
	return &cmdutil.Factory{IO: cmdutil.Test(nil, &bytes.Buffer{}, &bytes.Buffer{})}
}

func TestNewCmdDevFlags(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		cli   string
		want  Options
		usage string
	}{
		{cli: "", want: Options{}},
		{cli: "--race --tags dev,sqlite", want: Options{Race: true, Tags: "dev,sqlite"}},
		{cli: "--debug", want: Options{Debug: true}},
		{cli: "web", usage: `dev takes no arguments, got "web"`},
	} {
		var got *Options
		cmd := NewCmdDev(testFactory(), func(o *Options) error { got = o; return nil })
		cmd.SetArgs(strings.Fields(tt.cli))
		cmd.SetOut(&bytes.Buffer{})
		cmd.SetErr(&bytes.Buffer{})
		err := cmd.Execute()
		if tt.usage != "" {
			if cmdutil.ExitCode(err) != cmdutil.ExitUsage || !strings.HasPrefix(err.Error(), tt.usage) {
				t.Errorf("%q: err = %v, want usage error %q", tt.cli, err, tt.usage)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tt.cli, err)
			continue
		}
		if got.Race != tt.want.Race || got.Tags != tt.want.Tags || got.Debug != tt.want.Debug {
			t.Errorf("%q: options = %+v, want %+v", tt.cli, *got, tt.want)
		}
	}
}

func TestControlCommandArgs(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		cli   string
		want  ControlOptions
		usage string
	}{
		{cli: "status", want: ControlOptions{}},
		{cli: "status --json", want: ControlOptions{JSON: true}},
		{cli: "restart web", want: ControlOptions{Service: "web"}},
		{cli: "scale web=4", want: ControlOptions{Service: "web", Procs: 4}},
		{cli: "logs web", want: ControlOptions{Service: "web", Lines: 100}},
		{cli: "logs redis -f -n 5", want: ControlOptions{Service: "redis", Lines: 5, Follow: true}},
		{cli: "restart", usage: "dev restart needs the service to restart (or a backing system)"},
		{cli: "restart web api", usage: "dev restart needs the service to restart (or a backing system)"},
		{cli: "scale web", usage: `toil dev scale: want SERVICE=N, as in toil dev scale web=4, got "web"`},
		{cli: "scale web=x", usage: `toil dev scale: want SERVICE=N`},
		{cli: "scale =3", usage: `toil dev scale: want SERVICE=N`},
		{cli: "scale web=0", usage: "toil dev scale: web needs at least 1 worker, got 0"},
		{cli: "logs", usage: "dev logs needs the service"},
		{cli: "logs web -n -1", usage: "-n must be 0 (all) or more, got -1"},
		{cli: "status web", usage: `dev status takes no arguments, got "web"`},
	} {
		var got *ControlOptions
		capture := func(o *ControlOptions) error { got = o; return nil }
		f := testFactory()
		root := NewCmdDev(f, nil)
		root.RemoveCommand(root.Commands()...)
		root.AddCommand(NewCmdStatus(f, capture), NewCmdRestart(f, capture), NewCmdScale(f, capture), NewCmdLogs(f, capture))
		root.SetArgs(strings.Fields(tt.cli))
		root.SetOut(&bytes.Buffer{})
		root.SetErr(&bytes.Buffer{})
		err := root.Execute()
		if tt.usage != "" {
			if cmdutil.ExitCode(err) != cmdutil.ExitUsage || !strings.HasPrefix(err.Error(), tt.usage) {
				t.Errorf("%q: err = %v, want usage error %q", tt.cli, err, tt.usage)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tt.cli, err)
			continue
		}
		if got.Service != tt.want.Service || got.Procs != tt.want.Procs || got.JSON != tt.want.JSON || got.Lines != tt.want.Lines || got.Follow != tt.want.Follow {
			t.Errorf("%q: options = %+v, want %+v", tt.cli, *got, tt.want)
		}
	}
}

func TestExitCodes(t *testing.T) {
	t.Parallel()
	bad := layout.Errors{{File: "toil.yaml", Line: 3, Col: 5, Msg: "services.web: unknown key \"prcs\""}}
	if err := exitError(bad); cmdutil.ExitCode(err) != cmdutil.ExitUsage || !strings.Contains(err.Error(), "toil.yaml:3:5: services.web") {
		t.Errorf("invalid toil.yaml: %v (exit %d), want usage error naming the line", err, cmdutil.ExitCode(err))
	}
	missing := &fs.PathError{Op: "find", Path: "toil.yaml", Err: fs.ErrNotExist}
	if err := exitError(missing); cmdutil.ExitCode(err) != cmdutil.ExitUsage || !strings.Contains(err.Error(), "write one") {
		t.Errorf("no toil.yaml: %v (exit %d)", err, cmdutil.ExitCode(err))
	}
	if err := exitError(errors.New("listen tcp 127.0.0.1:8000: address already in use")); cmdutil.ExitCode(err) != cmdutil.ExitFailure {
		t.Errorf("a failure to start: exit %d, want 1", cmdutil.ExitCode(err))
	}
	if err := controlError(&devloop.ControlError{Status: 404, Msg: `no service "x"`}); cmdutil.ExitCode(err) != cmdutil.ExitUsage {
		t.Errorf("unknown service: exit %d, want 2", cmdutil.ExitCode(err))
	}
	if err := controlError(&devloop.ControlError{Status: 409, Msg: "web.1 not ready within 30s"}); cmdutil.ExitCode(err) != cmdutil.ExitFailure {
		t.Errorf("a failed restart: exit %d, want 1", cmdutil.ExitCode(err))
	}
}

func TestStatusPrint(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	opts := &ControlOptions{IO: cmdutil.Test(nil, &out, &bytes.Buffer{})}
	r := &devloop.Report{
		Name: "app", PID: 42, Layout: "/src/app/toil.yaml", Proxy: "127.0.0.1:8000",
		Services: []devloop.ServiceReport{
			{Name: "web", State: "build failed", Ready: 2, Total: 2, Addr: "127.0.0.1:4100",
				BuildError: "# example.com/app/web\nweb/web.go:9:2: undefined: nope\n",
				Workers:    []devloop.WorkerReport{{ID: "web.1", PID: 100, State: "ready"}, {ID: "web.2", PID: 101, State: "ready", Restarts: 2}}},
			{Name: "api", State: "build failed", Ready: 0, Total: 1,
				BuildError: "# example.com/app/api\napi/main.go:3:1: syntax error\n"},
			{Name: "worker", State: "crashlooping", Ready: 0, Total: 1,
				Workers: []devloop.WorkerReport{{ID: "worker.1", PID: 0, State: "crashlooping", Restarts: 3, Error: "exit status 1"}}},
		},
		Backing: []devloop.BackingReport{
			{Name: "redis", Runs: "redis-server --port 6379", Addr: "127.0.0.1:6379", PID: 7, State: "running"},
			{Name: "queue", Runs: "redis-server --port 6380", Addr: "127.0.0.1:6380", State: "restarting", Restarts: 2, Exited: "killed by SIGKILL"},
			{Name: "db", Runs: "postgres -p 5432", Addr: "127.0.0.1:5432", State: "failed", Exited: "exit status 1", Error: "backing db: exited before it was ready"},
		},
	}
	printStatus(opts, r)
	for _, want := range []string{
		"toil dev: app (pid 42, /src/app/toil.yaml), proxy on 127.0.0.1:8000\n",
		"web         2/2      build failed  127.0.0.1:4100\n",
		"  web.2     pid 101  ready         2 restarts\n",
		"  worker.1  pid 0    crashlooping  3 restarts: exit status 1\n",
		"redis       backing  running       127.0.0.1:6379\n",
		"queue       backing  restarting    127.0.0.1:6380  2 restarts, last exited: killed by SIGKILL\n",
		"backing system queue exited (killed by SIGKILL); toil dev restarts it on 127.0.0.1:6380",
		"backing system db exited (exit status 1) and did not restart; toil dev tries again:\n    backing db: exited before it was ready\n",
		"web does not build (the previous build serves):\n    # example.com/app/web\n    web/web.go:9:2: undefined: nope\n",
		// api never built: nothing serves it.
		"api is not running: it does not build:\n    # example.com/app/api\n    api/main.go:3:1: syntax error\n",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("status lacks %q:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "api does not build (the previous build serves)") {
		t.Errorf("status says a previous build of api serves; it never built:\n%s", out.String())
	}
	if r.Healthy() {
		t.Error("a report with a failed build and a crashlooping worker is healthy")
	}
}

// TestBackingDownIsUnhealthy: toil dev status exits 1 while a backing
// system is restarting, though every service is ready.
func TestBackingDownIsUnhealthy(t *testing.T) {
	t.Parallel()
	r := &devloop.Report{
		Services: []devloop.ServiceReport{{Name: "web", State: "ready", Ready: 1, Total: 1}},
		Backing:  []devloop.BackingReport{{Name: "redis", State: "running"}},
	}
	if !r.Healthy() {
		t.Fatal("a report with everything running is not healthy")
	}
	r.Backing[0].State = "restarting"
	if r.Healthy() {
		t.Error("a report with redis restarting is healthy")
	}
}

func TestStatusNotRunning(t *testing.T) {
	t.Parallel()
	opts := &ControlOptions{
		IO:      cmdutil.Test(nil, &bytes.Buffer{}, &bytes.Buffer{}),
		Context: context.Background(),
		Connect: func() (*devloop.Client, error) { return devloop.Connect(t.TempDir()) },
	}
	err := statusRun(opts)
	if err == nil || !strings.Contains(err.Error(), "toil.yaml") {
		t.Errorf("status with no toil.yaml: %v", err)
	}
}
