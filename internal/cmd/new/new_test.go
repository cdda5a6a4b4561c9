package newcmd_test

import (
	"bytes"
	"os"
	"strings"
	"testing"

	newcmd "github.com/toilhq/toil/internal/cmd/new"
	"github.com/toilhq/toil/internal/cmdutil"
)

func TestFlagsToOptions(t *testing.T) {
	t.Parallel()
	var got *newcmd.Options
	f := &cmdutil.Factory{IO: cmdutil.Test(strings.NewReader(""), &bytes.Buffer{}, &bytes.Buffer{})}
	cmd := newcmd.NewCmdNew(f, func(o *newcmd.Options) error { got = o; return nil })
	cmd.SetArgs([]string{"billing", "--module", "example.com/b", "--dir", "out", "-t", "worker",
		"--set", "service=Poller", "--set", "service=Other", "-n", "--force", "--no-git", "--yes", "--toil-source", "/src",
		"--with", "redis,sql", "--with", "queue"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	want := newcmd.Options{Name: "billing", Module: "example.com/b", Dir: "out", Template: "worker",
		Set: []string{"service=Poller", "service=Other"}, DryRun: true, Force: true, NoGit: true, Yes: true, ToilSource: "/src"}
	if got.Name != want.Name || got.Module != want.Module || got.Dir != want.Dir || got.Template != want.Template ||
		strings.Join(got.Set, ",") != strings.Join(want.Set, ",") || strings.Join(got.With, " ") != "redis,sql queue" || !got.DryRun || !got.Force || !got.NoGit || !got.Yes || got.ToilSource != want.ToilSource {
		t.Errorf("Options = %+v, want %+v", *got, want)
	}
}

func TestDefaults(t *testing.T) {
	t.Parallel()
	var got *newcmd.Options
	f := &cmdutil.Factory{IO: cmdutil.Test(strings.NewReader(""), &bytes.Buffer{}, &bytes.Buffer{})}
	cmd := newcmd.NewCmdNew(f, func(o *newcmd.Options) error { got = o; return nil })
	cmd.SetArgs([]string{"billing"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if got.Template != "http" || got.Module != "" || got.Dir != "" || got.DryRun || got.Force || got.NoGit {
		t.Errorf("defaults: %+v", *got)
	}
}

func TestTwoNamesIsAUsageError(t *testing.T) {
	t.Parallel()
	f := &cmdutil.Factory{IO: cmdutil.Test(strings.NewReader(""), &bytes.Buffer{}, &bytes.Buffer{})}
	cmd := newcmd.NewCmdNew(f, func(*newcmd.Options) error { t.Error("ran"); return nil })
	cmd.SetArgs([]string{"a", "b"})
	err := cmd.Execute()
	if cmdutil.ExitCode(err) != cmdutil.ExitUsage || !strings.Contains(err.Error(), "takes one NAME") {
		t.Errorf("err = %v (exit %d), want a usage error", err, cmdutil.ExitCode(err))
	}
}

// A development build with no checkout at hand cannot say which toil to
// require: the error names --toil-source, and nothing is written.
func TestNoToilSourceNamesTheFlag(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var out bytes.Buffer
	f := &cmdutil.Factory{IO: cmdutil.Test(strings.NewReader(""), &out, &out)}
	cmd := newcmd.NewCmdNew(f, func(o *newcmd.Options) error {
		o.Source = func() string { return "" }
		o.Version = func() string { return "" }
		return newcmd.Run(o)
	})
	cmd.SetArgs([]string{"billing", "--dir", dir + "/billing"})
	err := cmd.Execute()
	if err == nil || !strings.Contains(err.Error(), "pass --toil-source DIR") {
		t.Fatalf("err = %v, want one naming --toil-source", err)
	}
	cmd = newcmd.NewCmdNew(f, nil)
	cmd.SetArgs([]string{"billing", "--dir", dir + "/billing", "--toil-source", dir})
	if err := cmd.Execute(); err == nil || !strings.Contains(err.Error(), "is not a checkout of toil") {
		t.Fatalf("--toil-source of a non-checkout: err = %v", err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("written after the errors: %v", ents)
	}
}

func TestServiceFlagsToOptions(t *testing.T) {
	t.Parallel()
	var got *newcmd.ServiceOptions
	f := &cmdutil.Factory{IO: cmdutil.Test(strings.NewReader(""), &bytes.Buffer{}, &bytes.Buffer{})}
	// toil new service is a subcommand of toil new.
	svc, _, err := newcmd.NewCmdNew(f, nil).Find([]string{"service", "billing.x"})
	if err != nil || svc.Name() != "service" {
		t.Fatalf("toil new has no service subcommand: %v", err)
	}
	capture := newcmd.NewCmdService(f, func(o *newcmd.ServiceOptions) error { got = o; return nil })
	capture.SetArgs([]string{"internal/billing.invoicer", "-t", "consumer", "--with", "sql", "--set", "service=Mailer", "-n", "--force"})
	if err := capture.Execute(); err != nil {
		t.Fatal(err)
	}
	if got.Target != "internal/billing.invoicer" || got.Template != "consumer" || strings.Join(got.With, ",") != "sql" ||
		strings.Join(got.Set, ",") != "service=Mailer" || !got.DryRun || !got.Force {
		t.Errorf("ServiceOptions = %+v", *got)
	}
	capture = newcmd.NewCmdService(f, func(*newcmd.ServiceOptions) error { t.Error("ran"); return nil })
	capture.SetArgs([]string{})
	if err := capture.Execute(); cmdutil.ExitCode(err) != cmdutil.ExitUsage || !strings.Contains(err.Error(), "takes one PKG.NAME") {
		t.Errorf("no PKG.NAME: err = %v, want a usage error", err)
	}
}

// Outside a module, toil new service says so and writes nothing.
func TestServiceOutsideAModule(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	f := &cmdutil.Factory{IO: cmdutil.Test(strings.NewReader(""), &bytes.Buffer{}, &bytes.Buffer{})}
	cmd := newcmd.NewCmdService(f, func(o *newcmd.ServiceOptions) error {
		o.Dir = dir
		return newcmd.RunService(o)
	})
	cmd.SetArgs([]string{"billing.invoicer"})
	err := cmd.Execute()
	if err == nil || !strings.Contains(err.Error(), "is not in one (no go.mod here or above)") {
		t.Fatalf("err = %v, want one saying there is no module", err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("written: %v", ents)
	}
}
