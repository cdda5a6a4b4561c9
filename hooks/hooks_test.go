package hooks_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/toilhq/toil/hooks"
)

func TestMain(m *testing.M) {
	// The tests run real git; keep the user's and the machine's git config
	// (a global core.hooksPath, say) out of them.
	os.Setenv("GIT_CONFIG_GLOBAL", os.DevNull)
	os.Setenv("GIT_CONFIG_NOSYSTEM", "1")
	for _, k := range []string{"GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE"} {
		os.Unsetenv(k)
	}
	for k, v := range map[string]string{
		"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
		"GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com",
	} {
		os.Setenv(k, v)
	}
	os.Exit(m.Run())
}

func git(t *testing.T, dir string, args ...string) string {
	t.Helper()
	out, err := runExec(func() *exec.Cmd {
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		return cmd
	}, nil)
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// runExec runs the command mk makes, again (made afresh, after undo, if
// not nil, takes back what the failed try did) while it fails with "Text
// file busy".
//
// That is ETXTBSY, golang/go#22315: these tests write executables (the
// hook, the user's hook, a fake toil) while parallel tests start git. A
// child forked while a hook's file is open for writing holds a copy of
// the write fd until its own exec closes it (O_CLOEXEC), so for that
// moment the kernel refuses to exec the hook, and git says "fatal: cannot
// exec '.git/hooks/pre-commit': Text file busy". The window ends when the
// other child execs, so a retry gets through.
//
// hooks.Install cannot hit this in real use: toil hooks install and toil
// new are single-threaded as far as processes go; nothing forks while
// writeFileAtomic has the hook open, and it closes the file before Install
// returns and before git (another process) runs the hook.
func runExec(mk func() *exec.Cmd, undo func()) ([]byte, error) {
	const tries = 10
	for i := 1; ; i++ {
		out, err := mk().CombinedOutput()
		if err == nil || !bytes.Contains(out, []byte("Text file busy")) || i == tries {
			return out, err
		}
		if undo != nil {
			undo()
		}
		// Give the other test's child time to exec.
		time.Sleep(time.Duration(i) * 10 * time.Millisecond)
	}
}

// newRepo returns a fresh repository with one commit.
func newRepo(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	git(t, dir, "init", "-q", "-b", "main")
	git(t, dir, "commit", "-q", "--allow-empty", "-m", "root")
	return dir
}

// fakeToil writes an executable standing in for toil: it appends its
// arguments to log and exits with code. The real toil's hook behaviour is
// covered end to end by testdata/script/hooks_*.txtar.
func fakeToil(t *testing.T, log string, code int) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "toil")
	script := "#!/bin/sh\necho \"toil $*\" >> '" + log + "'\nexit " + string(rune('0'+code)) + "\n"
	if err := os.WriteFile(p, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestInstallCommitUninstall(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	repo := newRepo(t)
	log := filepath.Join(t.TempDir(), "log")

	res, err := hooks.Install(ctx, repo, fakeToil(t, log, 0))
	if err != nil {
		t.Fatal(err)
	}
	want := filepath.Join(repo, ".git", "hooks", "pre-commit")
	if res.Status != hooks.Installed || res.Path != want || res.Chained != "" {
		t.Fatalf("Install = %+v, want Installed at %s", res, want)
	}
	fi, err := os.Stat(want)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm()&0o111 == 0 {
		t.Errorf("hook mode %v is not executable: git would skip it", fi.Mode())
	}

	git(t, repo, "commit", "-q", "--allow-empty", "-m", "one")
	if got := readFile(t, log); got != "toil lint --staged\n" {
		t.Errorf("hook ran %q, want toil lint --staged", got)
	}

	res, err = hooks.Uninstall(ctx, repo)
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != hooks.Removed {
		t.Errorf("Uninstall = %+v, want Removed", res)
	}
	if _, err := os.Lstat(want); !os.IsNotExist(err) {
		t.Errorf("hook still there after uninstall: %v", err)
	}
	res, err = hooks.Uninstall(ctx, repo)
	if err != nil || res.Status != hooks.NotInstalled {
		t.Errorf("second Uninstall = %+v, %v; want NotInstalled", res, err)
	}
}

func TestInstallTwiceIsIdempotent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	repo := newRepo(t)
	toil := fakeToil(t, filepath.Join(t.TempDir(), "log"), 0)
	if _, err := hooks.Install(ctx, repo, toil); err != nil {
		t.Fatal(err)
	}
	before := readFile(t, filepath.Join(repo, ".git/hooks/pre-commit"))
	res, err := hooks.Install(ctx, repo, toil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != hooks.AlreadyInstalled || res.Chained != "" {
		t.Errorf("second Install = %+v, want AlreadyInstalled and nothing chained", res)
	}
	if _, err := os.Lstat(filepath.Join(repo, ".git/hooks", hooks.ChainedName)); !os.IsNotExist(err) {
		t.Errorf("second install chained toil's own hook: %v", err)
	}

	// A new toil path rewrites toil's hook in place, still without chaining it.
	res, err = hooks.Install(ctx, repo, "/elsewhere/toil")
	if err != nil {
		t.Fatal(err)
	}
	after := readFile(t, filepath.Join(repo, ".git/hooks/pre-commit"))
	if res.Status != hooks.Updated || after == before || !strings.Contains(after, "'/elsewhere/toil'") {
		t.Errorf("Install with a new path = %+v, hook:\n%s", res, after)
	}
}

func TestExistingHookIsChainedAndRestored(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	repo := newRepo(t)
	dir := t.TempDir()
	log := filepath.Join(dir, "log")
	hookPath := filepath.Join(repo, ".git/hooks/pre-commit")
	orig := []byte("#!/bin/sh\necho \"user hook\" >> '" + log + "'\nexit \"${USER_HOOK_EXIT:-0}\"\n")
	if err := os.WriteFile(hookPath, orig, 0o750); err != nil {
		t.Fatal(err)
	}

	res, err := hooks.Install(ctx, repo, fakeToil(t, log, 0))
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != hooks.Chained || res.Chained != hookPath+".toil-chained" {
		t.Fatalf("Install = %+v, want Chained", res)
	}

	// Both run, the user's first. A try that failed on "Text file busy"
	// may have run the user's hook before toil could not start: its line
	// goes.
	dropLog := func() { os.Remove(log) }
	if out, err := runExec(func() *exec.Cmd {
		cmd := exec.Command("git", "commit", "-q", "--allow-empty", "-m", "one")
		cmd.Dir = repo
		return cmd
	}, dropLog); err != nil {
		t.Fatalf("git commit: %v\n%s", err, out)
	}
	if got := readFile(t, log); got != "user hook\ntoil lint --staged\n" {
		t.Errorf("hooks ran %q, want the user's hook then toil", got)
	}

	// A failing user hook stops the commit before toil runs.
	os.Remove(log)
	if out, err := runExec(func() *exec.Cmd {
		cmd := exec.Command("git", "commit", "-q", "--allow-empty", "-m", "two")
		cmd.Dir = repo
		cmd.Env = append(os.Environ(), "USER_HOOK_EXIT=3")
		return cmd
	}, dropLog); err == nil {
		t.Errorf("commit succeeded although the chained hook failed:\n%s", out)
	}
	if got := readFile(t, log); got != "user hook\n" {
		t.Errorf("hooks ran %q, want only the failing user hook", got)
	}

	// Installing again neither chains toil's hook nor loses the user's.
	res, err = hooks.Install(ctx, repo, fakeToil(t, log, 0))
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != hooks.Updated && res.Status != hooks.AlreadyInstalled {
		t.Errorf("reinstall = %+v", res)
	}
	if got := readFile(t, res.Chained); got != string(orig) {
		t.Errorf("chained hook changed on reinstall:\n%s", got)
	}

	res, err = hooks.Uninstall(ctx, repo)
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != hooks.Restored {
		t.Errorf("Uninstall = %+v, want Restored", res)
	}
	if got, err := os.ReadFile(hookPath); err != nil || !bytes.Equal(got, orig) {
		t.Errorf("restored hook = %q, %v; want the original", got, err)
	}
	if fi, err := os.Stat(hookPath); err != nil || fi.Mode().Perm() != 0o750 {
		t.Errorf("restored hook mode = %v, %v; want 0750", fi.Mode(), err)
	}
	if _, err := os.Lstat(hookPath + ".toil-chained"); !os.IsNotExist(err) {
		t.Errorf("chained copy left behind: %v", err)
	}
}

func TestHooksPathRelativeToWorkTree(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	repo := newRepo(t)
	git(t, repo, "config", "core.hooksPath", "githooks")
	sub := filepath.Join(repo, "a", "b")
	if err := os.MkdirAll(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	log := filepath.Join(t.TempDir(), "log")

	// From a subdirectory, the relative path still means the work tree's top.
	res, err := hooks.Install(ctx, sub, fakeToil(t, log, 0))
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(repo, "githooks", "pre-commit"); res.Path != want {
		t.Fatalf("hook at %s, want %s", res.Path, want)
	}
	if _, err := os.Lstat(filepath.Join(repo, ".git/hooks/pre-commit")); !os.IsNotExist(err) {
		t.Errorf("hook written to .git/hooks although core.hooksPath is set: %v", err)
	}
	git(t, sub, "commit", "-q", "--allow-empty", "-m", "one")
	if got := readFile(t, log); got != "toil lint --staged\n" {
		t.Errorf("git did not run the hook in core.hooksPath: log %q", got)
	}
}

func TestLinkedWorktreeSharesHooks(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	repo := newRepo(t)
	wt := filepath.Join(t.TempDir(), "wt")
	git(t, repo, "worktree", "add", "-q", "-b", "feature", wt)
	log := filepath.Join(t.TempDir(), "log")

	res, err := hooks.Install(ctx, wt, fakeToil(t, log, 0))
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(repo, ".git/hooks/pre-commit"); res.Path != want {
		t.Errorf("hook at %s, want the common dir's %s", res.Path, want)
	}
	git(t, wt, "commit", "-q", "--allow-empty", "-m", "in worktree")
	git(t, repo, "commit", "-q", "--allow-empty", "-m", "in main")
	if got := readFile(t, log); got != "toil lint --staged\ntoil lint --staged\n" {
		t.Errorf("hook runs: %q, want one per commit in both worktrees", got)
	}
}

func TestFallsBackToToilOnPath(t *testing.T) {
	t.Parallel()
	repo := newRepo(t)
	log := filepath.Join(t.TempDir(), "log")
	onPath := fakeToil(t, log, 0)
	if _, err := hooks.Install(context.Background(), repo, filepath.Join(t.TempDir(), "gone", "toil")); err != nil {
		t.Fatal(err)
	}
	if out, err := runExec(func() *exec.Cmd {
		cmd := exec.Command("git", "commit", "-q", "--allow-empty", "-m", "one")
		cmd.Dir = repo
		cmd.Env = append(os.Environ(), "PATH="+filepath.Dir(onPath)+string(os.PathListSeparator)+os.Getenv("PATH"))
		return cmd
	}, nil); err != nil {
		t.Fatalf("commit: %v\n%s", err, out)
	}
	if got := readFile(t, log); got != "toil lint --staged\n" {
		t.Errorf("hook ran %q, want the toil on PATH", got)
	}

	// With no toil anywhere the commit is refused with a way out.
	out, err := runExec(func() *exec.Cmd {
		cmd := exec.Command("git", "commit", "-q", "--allow-empty", "-m", "two")
		cmd.Dir = repo
		cmd.Env = append(os.Environ(), "PATH=/usr/bin:/bin")
		return cmd
	}, nil)
	if err == nil || !strings.Contains(string(out), "toil hooks uninstall") {
		t.Errorf("commit without toil: err %v, output %q; want a refusal naming toil hooks uninstall", err, out)
	}
}

func TestRefusals(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("not a repository", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		_, err := hooks.Install(ctx, dir, "/bin/toil")
		if err == nil || !strings.Contains(err.Error(), "not inside a git repository") {
			t.Errorf("Install outside a repository: %v", err)
		}
	})

	t.Run("chained name taken", func(t *testing.T) {
		t.Parallel()
		repo := newRepo(t)
		hooksDir := filepath.Join(repo, ".git/hooks")
		for _, name := range []string{"pre-commit", "pre-commit.toil-chained"} {
			if err := os.WriteFile(filepath.Join(hooksDir, name), []byte("#!/bin/sh\n# "+name+"\n"), 0o755); err != nil {
				t.Fatal(err)
			}
		}
		_, err := hooks.Install(ctx, repo, "/bin/toil")
		if err == nil || !strings.Contains(err.Error(), "is taken by another hook") {
			t.Errorf("Install over two foreign hooks: %v", err)
		}
		for _, name := range []string{"pre-commit", "pre-commit.toil-chained"} {
			if got := readFile(t, filepath.Join(hooksDir, name)); got != "#!/bin/sh\n# "+name+"\n" {
				t.Errorf("%s changed by a refused install: %q", name, got)
			}
		}
	})

	t.Run("foreign hook is not uninstalled", func(t *testing.T) {
		t.Parallel()
		repo := newRepo(t)
		hookPath := filepath.Join(repo, ".git/hooks/pre-commit")
		if err := os.WriteFile(hookPath, []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		res, err := hooks.Uninstall(ctx, repo)
		if err != nil || res.Status != hooks.NotInstalled {
			t.Errorf("Uninstall = %+v, %v; want NotInstalled", res, err)
		}
		if got := readFile(t, hookPath); got != "#!/bin/sh\n" {
			t.Errorf("foreign hook changed: %q", got)
		}
	})
}

func TestScriptQuotesPath(t *testing.T) {
	t.Parallel()
	s := string(hooks.Script("/opt/it's here/toil"))
	if !strings.Contains(s, `toil='/opt/it'\''s here/toil'`) {
		t.Errorf("path not shell-quoted:\n%s", s)
	}
	out, err := exec.Command("sh", "-n", "-c", s).CombinedOutput()
	if err != nil {
		t.Errorf("hook is not valid sh: %v\n%s", err, out)
	}
	if !hooks.IsToilHook([]byte(s)) {
		t.Error("IsToilHook does not recognise toil's own hook")
	}
}

// TestGitDirEnvironment runs outside the repository with GIT_DIR and
// GIT_WORK_TREE naming it, as scripts and some editors do.
func TestGitDirEnvironment(t *testing.T) {
	repo := newRepo(t)
	elsewhere := t.TempDir()
	t.Setenv("GIT_DIR", filepath.Join(repo, ".git"))
	t.Setenv("GIT_WORK_TREE", repo)
	res, err := hooks.Install(context.Background(), elsewhere, "/bin/toil")
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(repo, ".git", "hooks", "pre-commit"); res.Path != want {
		t.Errorf("hook at %s, want %s", res.Path, want)
	}
	if _, err := os.Lstat(filepath.Join(elsewhere, ".git")); !os.IsNotExist(err) {
		t.Errorf("something was written in the working directory: %v", err)
	}
}

// TestRunExecRetriesTextFileBusy makes the ETXTBSY of runExec's comment
// happen for sure: a script held open for writing cannot be exec'd. The
// first try fails as git's did; undo closes the file, the retry runs it.
func TestRunExecRetriesTextFileBusy(t *testing.T) {
	t.Parallel()
	script := filepath.Join(t.TempDir(), "hook")
	f, err := os.OpenFile(script, os.O_CREATE|os.O_WRONLY, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString("#!/bin/sh\necho ran\n"); err != nil {
		t.Fatal(err)
	}
	undos := 0
	out, err := runExec(func() *exec.Cmd {
		return exec.Command("sh", "-c", "exec '"+script+"'")
	}, func() {
		undos++
		f.Close()
	})
	if err != nil || string(out) != "ran\n" || undos != 1 {
		t.Errorf("runExec = %q, %v after %d undos; want ran after one busy try", out, err, undos)
	}
}
