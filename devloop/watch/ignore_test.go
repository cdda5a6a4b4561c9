package watch

import (
	"bytes"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/tools/txtar"
)

// TestIgnoredMatchesGit extracts a work tree with tricky ignore rules
// (negation, dir/, **, anchoring, nested .gitignore files, trailing spaces,
// character classes, CRLF, escapes, info/exclude, a global excludes file)
// and holds Watcher.Ignored to `git check-ignore` for every path in it. It
// also checks that the watcher tracks exactly the files git does not
// ignore, and watches exactly the directories git would descend into.
func TestIgnoredMatchesGit(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		global func(t *testing.T, home string) // sets up the global excludes
	}{
		{"xdg-ignore", func(t *testing.T, home string) {
			writeFile(t, filepath.Join(home, ".config", "git", "ignore"), "*.swp\nglobal.txt\n")
		}},
		{"core.excludesFile", func(t *testing.T, home string) {
			writeFile(t, filepath.Join(home, ".gitconfig"), "[user]\n\tname = t\n[core]\n\texcludesFile = ~/my-ignore\n")
			writeFile(t, filepath.Join(home, "my-ignore"), "*.swp\nglobal.txt\n")
			// Not read: core.excludesFile wins over the XDG default.
			writeFile(t, filepath.Join(home, ".config", "git", "ignore"), "main.go\n")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			home := t.TempDir()
			tc.global(t, home)
			env := map[string]string{"HOME": home, "GIT_CONFIG_NOSYSTEM": "1"}
			getenv := func(k string) string { return env[k] }

			root := extractFixture(t, "testdata/gitignore.txtar")
			gitIn(t, root, env, "init", "-q")
			writeFile(t, filepath.Join(root, ".git", "info", "exclude"), "# git's own comment\ninfo-*.txt\n")
			// Names txtar cannot carry: trailing spaces.
			for _, name := range []string{"space ", "space", "two ", "two  ", "trail.txt ", "sub/x/ space"} {
				writeFile(t, filepath.Join(root, name), "")
			}

			paths := treePaths(t, root)
			want := checkIgnore(t, root, env, slices.Sorted(maps.Keys(paths)))

			w, err := New(root, Options{getenv: getenv})
			if err != nil {
				t.Fatal(err)
			}
			defer w.Close()
			var wrong []string
			for _, p := range slices.Sorted(maps.Keys(paths)) {
				if got := w.Ignored(p, paths[p]); got != want[p] {
					wrong = append(wrong, p+": git says ignored="+boolString(want[p])+", toil says "+boolString(got))
				}
			}
			if len(wrong) > 0 {
				t.Errorf("%d of %d paths differ from git check-ignore:\n%s", len(wrong), len(paths), strings.Join(wrong, "\n"))
			}
			// Sanity: the fixture exercises both answers plenty.
			n := 0
			for _, ig := range want {
				if ig {
					n++
				}
			}
			if n < 30 || len(paths)-n < 30 {
				t.Errorf("fixture too one-sided: %d ignored of %d", n, len(paths))
			}

			// The watcher tracks exactly the files git would show, and
			// watches the directories that are not ignored.
			for p, isDir := range paths {
				_, tracked := w.files[p]
				if !isDir && tracked == want[p] {
					t.Errorf("%s: tracked=%v, but git ignored=%v", p, tracked, want[p])
				}
				if isDir && w.dirs[p] != (!want[p] && !underIgnored(p, want)) {
					t.Errorf("%s/: watched=%v, git ignored=%v", p, w.dirs[p], want[p])
				}
			}
			if w.dirs[".git"] {
				t.Error(".git is watched")
			}
		})
	}
}

// TestIgnoreRootInsideRepo watches a subdirectory of a repository: the
// .gitignore files above it apply, and the root is watched even when the
// repository ignores it.
func TestIgnoreRootInsideRepo(t *testing.T) {
	t.Parallel()
	top := t.TempDir()
	env := map[string]string{"HOME": t.TempDir(), "GIT_CONFIG_NOSYSTEM": "1"}
	gitIn(t, top, env, "init", "-q")
	writeFile(t, filepath.Join(top, ".gitignore"), "*.log\nsvc/gen/\nexamples/\n")
	writeFile(t, filepath.Join(top, "svc", "main.go"), "package main\n")
	writeFile(t, filepath.Join(top, "svc", "x.log"), "")
	writeFile(t, filepath.Join(top, "svc", "gen", "g.go"), "")
	writeFile(t, filepath.Join(top, "examples", "ex", "main.go"), "")
	writeFile(t, filepath.Join(top, "examples", "ex", "x.log"), "")

	getenv := func(k string) string { return env[k] }
	w, err := New(filepath.Join(top, "svc"), Options{getenv: getenv})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	for p, want := range map[string]bool{"main.go": false, "x.log": true, "gen": true, "gen/g.go": true} {
		if got := w.Ignored(p, p == "gen"); got != want {
			t.Errorf("svc/%s: ignored=%v, want %v (the repository's .gitignore above the root applies)", p, got, want)
		}
	}

	w2, err := New(filepath.Join(top, "examples", "ex"), Options{getenv: getenv})
	if err != nil {
		t.Fatal(err)
	}
	defer w2.Close()
	if w2.Ignored("main.go", false) || !w2.Ignored("x.log", false) {
		t.Errorf("root ignored by its repository: main.go ignored=%v (want false), x.log ignored=%v (want true)",
			w2.Ignored("main.go", false), w2.Ignored("x.log", false))
	}
}

// TestExtraIgnores: Options.Ignore and toil's own ignores apply over git's,
// and a .gitignore negation cannot bring .git or .toil/ back.
func TestExtraIgnores(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	writeFile(t, filepath.Join(root, ".gitignore"), "!.toil/\n!.git\n!*.gen.go\n")
	w, err := New(root, Options{Ignore: []string{"*.gen.go", "/tmp/"}, getenv: func(string) string { return "" }})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	for p, want := range map[string]bool{
		".toil": true, ".toil/bin/web": true, "sub/.toil": false, ".git": true, "sub/.git": true,
		"x.gen.go": true, "a/x.gen.go": true, "x.go": false, "tmp": true, "a/tmp": false,
	} {
		isDir := !strings.Contains(p, ".go") && p != ".toil/bin/web"
		if got := w.Ignored(p, isDir); got != want {
			t.Errorf("%s: ignored=%v, want %v", p, got, want)
		}
	}
}

func TestTrimTrailingSpaces(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"a":       "a",
		"a  ":     "a",
		"a\\ ":    "a\\ ",
		"a\\  ":   "a\\ ",
		"a \\ ":   "a \\ ",
		"a\t":     "a\t",
		"a\\":     "a\\",
		"   ":     "",
		"a b ":    "a b",
		"a\\\\  ": "a\\\\",
	} {
		if got := trimTrailingSpaces(in); got != want {
			t.Errorf("trimTrailingSpaces(%q) = %q, want %q", in, got, want)
		}
	}
}

// underIgnored reports whether a directory above p is ignored.
func underIgnored(p string, ignored map[string]bool) bool {
	for i := range len(p) {
		if p[i] == '/' && ignored[p[:i]] {
			return true
		}
	}
	return false
}

func boolString(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

// extractFixture writes a txtar archive's files into a new directory.
func extractFixture(t *testing.T, archive string) string {
	t.Helper()
	a, err := txtar.ParseFile(archive)
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	for _, f := range a.Files {
		writeFile(t, filepath.Join(root, filepath.FromSlash(f.Name)), string(f.Data))
	}
	return root
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

// treePaths returns every path under root but .git, relative, with
// whether it is a directory.
func treePaths(t *testing.T, root string) map[string]bool {
	t.Helper()
	paths := map[string]bool{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == root {
			return nil
		}
		rel, _ := filepath.Rel(root, p)
		if rel == ".git" {
			return filepath.SkipDir
		}
		paths[filepath.ToSlash(rel)] = d.IsDir()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return paths
}

// gitIn runs git in dir with only the given environment (and PATH), so the
// machine's own git config cannot change the answer.
func gitIn(t *testing.T, dir string, env map[string]string, args ...string) []byte {
	t.Helper()
	out, err := gitCmd(dir, env, nil, args...).Output()
	if err != nil {
		t.Fatalf("git %s: %v", strings.Join(args, " "), err)
	}
	return out
}

func gitCmd(dir string, env map[string]string, stdin []byte, args ...string) *exec.Cmd {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "GIT_CONFIG_NOSYSTEM=1"}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	return cmd
}

// checkIgnore asks git which of paths it ignores.
func checkIgnore(t *testing.T, root string, env map[string]string, paths []string) map[string]bool {
	t.Helper()
	var in bytes.Buffer
	for _, p := range paths {
		in.WriteString(p)
		in.WriteByte(0)
	}
	out, err := gitCmd(root, env, in.Bytes(), "check-ignore", "--no-index", "--stdin", "-z").Output()
	if err != nil {
		// Exit status 1 means none is ignored; the fixture has many.
		t.Fatalf("git check-ignore: %v", err)
	}
	ignored := map[string]bool{}
	for p := range strings.SplitSeq(strings.TrimSuffix(string(out), "\x00"), "\x00") {
		ignored[p] = true
	}
	return ignored
}
