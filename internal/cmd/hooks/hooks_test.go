package hooks

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/toilhq/toil/internal/cmdutil"
)

func TestMain(m *testing.M) {
	os.Setenv("GIT_CONFIG_GLOBAL", os.DevNull)
	os.Setenv("GIT_CONFIG_NOSYSTEM", "1")
	os.Exit(m.Run())
}

// run executes `toil hooks args...` in dir with exe as the running binary.
func run(t *testing.T, dir, exe string, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	f := &cmdutil.Factory{IO: cmdutil.Test(nil, &out, &errOut)}
	point := func(opts *Options) {
		opts.Dir = dir
		opts.Executable = func() (string, error) { return exe, nil }
	}
	cmd := NewCmdHooks(f)
	cmd.ResetCommands()
	cmd.AddCommand(
		NewCmdInstall(f, func(opts *Options) error { point(opts); return installRun(context.Background(), opts) }),
		NewCmdUninstall(f, func(opts *Options) error { point(opts); return uninstallRun(context.Background(), opts) }),
	)
	cmd.SetArgs(args)
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	err := cmd.Execute()
	return out.String(), err
}

func TestInstallUninstallMessages(t *testing.T) {
	t.Parallel()
	repo := t.TempDir()
	if out, err := exec.Command("git", "init", "-q", repo).CombinedOutput(); err != nil {
		t.Fatalf("git init: %v\n%s", err, out)
	}
	hook := filepath.Join(repo, ".git", "hooks", "pre-commit")

	out, err := run(t, repo, "/opt/toil/bin/toil", "install")
	if err != nil {
		t.Fatal(err)
	}
	if want := "Installed the pre-commit hook at " + hook + ": each commit runs '/opt/toil/bin/toil lint --staged'\n"; out != want {
		t.Errorf("install said %q, want %q", out, want)
	}

	out, err = run(t, repo, "/opt/toil/bin/toil", "install")
	if err != nil || !strings.HasPrefix(out, "toil's pre-commit hook is already installed at "+hook) {
		t.Errorf("second install said %q, %v", out, err)
	}

	out, err = run(t, repo, "/opt/toil/bin/toil", "uninstall")
	if err != nil || out != "Removed toil's pre-commit hook from "+hook+"\n" {
		t.Errorf("uninstall said %q, %v", out, err)
	}
}

func TestTemporaryBuildIsNotPinned(t *testing.T) {
	t.Parallel()
	repo := t.TempDir()
	if out, err := exec.Command("git", "init", "-q", repo).CombinedOutput(); err != nil {
		t.Fatalf("git init: %v\n%s", err, out)
	}
	exe := "/tmp/go-build1234/b001/exe/toil" // where `go run` puts it
	out, err := run(t, repo, exe, "install")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "with the toil on PATH") {
		t.Errorf("install from a go run build said %q, want it to name the toil on PATH", out)
	}
	hook, err := os.ReadFile(filepath.Join(repo, ".git", "hooks", "pre-commit"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(hook), exe) {
		t.Errorf("hook pins the temporary build %s:\n%s", exe, hook)
	}
}

func TestUsageErrors(t *testing.T) {
	t.Parallel()
	_, err := run(t, t.TempDir(), "/bin/toil", "install", "extra")
	if cmdutil.ExitCode(err) != cmdutil.ExitUsage || !strings.Contains(err.Error(), "takes no arguments") {
		t.Errorf("install extra: %v (exit %d), want a usage error", err, cmdutil.ExitCode(err))
	}
	_, err = run(t, t.TempDir(), "/bin/toil", "install")
	if err == nil || !strings.Contains(err.Error(), "not inside a git repository") {
		t.Errorf("install outside a repository: %v", err)
	}
}
