package run

import (
	"bytes"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/toilhq/toil/internal/cmdutil"
)

func TestNewCmdRunFlags(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		cli   string
		want  Options
		usage string // the start of the usage error, when the command line is wrong
	}{
		{cli: "hello.world", want: Options{Spec: "hello.world", Procs: 1}},
		{cli: "hello.world --procs 3 -v", want: Options{Spec: "hello.world", Procs: 3, Verbose: true}},
		{cli: "-p 16 tempest.warmer", want: Options{Spec: "tempest.warmer", Procs: 16}},
		{cli: "hello.world -- --greeting=hi x", want: Options{Spec: "hello.world", Procs: 1, Args: []string{"--greeting=hi", "x"}}},
		{cli: "hello.world -- --procs 3", want: Options{Spec: "hello.world", Procs: 1, Args: []string{"--procs", "3"}}},
		{cli: "", usage: "toil run needs the service to run, as PKG.NAME"},
		{cli: "-- hello.world", usage: "toil run needs the service to run"},
		{cli: "hello.world extra", usage: `unexpected argument "extra": arguments for the service go after --, as in toil run hello.world -- extra`},
		{cli: "hello.world --procs 0", usage: "--procs must be at least 1, got 0"},
		{cli: "hello.world --procs -2", usage: "--procs must be at least 1, got -2"},
	} {
		f := &cmdutil.Factory{IO: cmdutil.Test(nil, &bytes.Buffer{}, &bytes.Buffer{})}
		var got *Options
		cmd := NewCmdRun(f, func(o *Options) error { got = o; return nil })
		cmd.SetArgs(strings.Fields(tt.cli))
		cmd.SetOut(&bytes.Buffer{})
		cmd.SetErr(&bytes.Buffer{})
		err := cmd.Execute()
		if tt.usage != "" {
			if cmdutil.ExitCode(err) != cmdutil.ExitUsage || !strings.HasPrefix(err.Error(), tt.usage) {
				t.Errorf("%q: err = %v (exit %d), want usage error %q", tt.cli, err, cmdutil.ExitCode(err), tt.usage)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tt.cli, err)
			continue
		}
		if got.Spec != tt.want.Spec || got.Procs != tt.want.Procs || got.Verbose != tt.want.Verbose || !slices.Equal(got.Args, tt.want.Args) {
			t.Errorf("%q: options = %+v, want %+v", tt.cli, *got, tt.want)
		}
	}
}

func TestRunRunBadSpecIsAUsageError(t *testing.T) {
	t.Parallel()
	var stderr bytes.Buffer
	err := runRun(&Options{
		IO:       cmdutil.Test(nil, &bytes.Buffer{}, &stderr),
		Spec:     "hello",
		Procs:    1,
		CacheDir: func() (string, error) { return t.TempDir(), nil },
	})
	if cmdutil.ExitCode(err) != cmdutil.ExitUsage || !strings.Contains(err.Error(), `"hello" is not PKG.NAME`) {
		t.Errorf("err = %v, want a usage error about PKG.NAME", err)
	}
}

func TestRunRunNoCacheDir(t *testing.T) {
	t.Parallel()
	err := runRun(&Options{
		IO:       cmdutil.Test(nil, &bytes.Buffer{}, &bytes.Buffer{}),
		Spec:     "hello.world",
		Procs:    1,
		CacheDir: func() (string, error) { return "", errors.New("no HOME") },
	})
	if err == nil || !strings.Contains(err.Error(), "no HOME") {
		t.Errorf("err = %v, want the cache dir error", err)
	}
}

func TestPrefixer(t *testing.T) {
	// Not parallel: NO_COLOR is process-wide.
	io := cmdutil.Test(nil, &bytes.Buffer{}, &bytes.Buffer{})
	p := prefixer(io, "hello.world", 12)
	if got, want := p(2), "hello.world.2  | "; got != want {
		t.Errorf("plain prefix = %q, want %q (padded to hello.world.12)", got, want)
	}

	io.SetTTY(true, true)
	t.Setenv("NO_COLOR", "1")
	if got := prefixer(io, "hello.world", 3)(1); got != "hello.world.1 | " {
		t.Errorf("NO_COLOR prefix = %q, want it plain", got)
	}

	t.Setenv("NO_COLOR", "") // restored after the test...
	os.Unsetenv("NO_COLOR")  // ...and unset, as NO_COLOR counts when merely set
	p = prefixer(io, "hello.world", 3)
	one, two := p(1), p(2)
	if !strings.Contains(one, "\x1b[") || !strings.Contains(one, "hello.world.1") || !strings.HasSuffix(one, " | ") {
		t.Errorf("terminal prefix = %q, want hello.world.1 coloured", one)
	}
	if one[:strings.Index(one, "hello")] == two[:strings.Index(two, "hello")] {
		t.Errorf("workers 1 and 2 share a colour: %q, %q", one, two)
	}
}
