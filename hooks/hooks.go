// Package hooks installs and removes toil's git pre-commit hook, which runs
// `toil lint --staged` before every commit.
//
// The hook never clobbers what was there: an existing pre-commit hook is
// renamed to pre-commit.toil-chained and run first, and Uninstall puts it
// back byte for byte. The hooks directory is the one git itself runs hooks
// from, so core.hooksPath, linked worktrees and GIT_DIR are honoured.
package hooks

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Name is the git hook toil installs.
const Name = "pre-commit"

// ChainedName is where an existing pre-commit hook is moved to; toil's hook
// runs it first and Uninstall moves it back.
const ChainedName = Name + ".toil-chained"

// marker identifies a hook written by toil, so toil never removes or
// rewrites a hook it did not write.
const marker = "# toil-hook: pre-commit"

// Status says what Install or Uninstall did.
type Status int

// What Install or Uninstall did.
const (
	Installed        Status = iota // the hook was written; nothing was there
	Chained                        // the hook was written; an existing hook was moved aside and is run first
	Updated                        // toil's hook was there with other contents (another toil path or an older hook) and was rewritten
	AlreadyInstalled               // toil's hook was there with the same contents; nothing changed
	Removed                        // toil's hook was removed; nothing else was there
	Restored                       // toil's hook was removed and the hook it chained put back
	NotInstalled                   // there was no toil hook to remove; nothing changed
)

// Result describes the outcome of Install or Uninstall.
type Result struct {
	Status Status
	// Path is the pre-commit hook's path.
	Path string
	// Chained is the path of the chained hook, when there is one.
	Chained string
}

// Dir returns the directory git runs hooks from for the repository that
// contains dir: core.hooksPath when set (relative to the work tree's top),
// else the hooks directory of the repository's common git dir, shared by
// all its worktrees. GIT_DIR and GIT_WORK_TREE in the environment apply, as
// they do for git itself.
func Dir(ctx context.Context, dir string) (string, error) {
	// git resolves core.hooksPath, worktrees and GIT_DIR exactly as it does
	// when it runs the hook; doing it again here could only disagree.
	cmd := exec.CommandContext(ctx, "git", "rev-parse", "--git-path", "hooks")
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			msg := strings.TrimSpace(stderr.String())
			if strings.Contains(msg, "not a git repository") {
				return "", fmt.Errorf("%s is not inside a git repository; run toil hooks in a repository (git init creates one)", dir)
			}
			return "", fmt.Errorf("find git hooks directory: git rev-parse --git-path hooks in %s: %s", dir, msg)
		}
		return "", fmt.Errorf("find git hooks directory: %w (toil hooks needs git on PATH)", err)
	}
	hooks := strings.TrimRight(string(out), "\r\n")
	if hooks == "" {
		return "", fmt.Errorf("find git hooks directory: git rev-parse --git-path hooks printed nothing in %s", dir)
	}
	if !filepath.IsAbs(hooks) {
		// git prints it relative to the directory it ran in.
		abs, err := filepath.Abs(dir)
		if err != nil {
			return "", err
		}
		hooks = filepath.Join(abs, hooks)
	}
	return hooks, nil
}

// Script returns the pre-commit hook toil writes. toilPath is the toil
// executable the hook runs; when it is empty or no longer executable at
// commit time, the hook runs the toil found on PATH.
func Script(toilPath string) []byte {
	var b strings.Builder
	b.WriteString(`#!/bin/sh
` + marker + ` v1
# Installed by 'toil hooks install': before each commit, toil lint --staged
# checks the Go lines the commit adds for leftover debug prints and debugger
# calls. 'toil hooks uninstall' removes it and puts back the hook it chained.
# Skip it for one commit with 'git commit --no-verify'.

# A hook that was here before toil's is kept and runs first.
chained="$(dirname -- "$0")/` + ChainedName + `"
if [ -x "$chained" ]; then
	"$chained" "$@" || exit
fi

`)
	fmt.Fprintf(&b, "toil=%s\n", shellQuote(toilPath))
	b.WriteString(`if [ -z "$toil" ] || [ ! -x "$toil" ]; then
	toil=$(command -v toil) || {
		echo "toil pre-commit hook: toil is not installed (not on PATH); install it, or remove this hook with 'toil hooks uninstall'" >&2
		exit 1
	}
fi
exec "$toil" lint --staged
`)
	return []byte(b.String())
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// IsToilHook reports whether content is a hook written by toil.
func IsToilHook(content []byte) bool {
	return bytes.Contains(content, []byte("\n"+marker))
}

// Install writes toil's pre-commit hook into the hooks directory of the
// repository containing dir (see Dir). The hook runs toilPath, falling back
// to toil on PATH (see Script). An existing hook that is not toil's is
// moved to pre-commit.toil-chained and run first; Install refuses when that
// name is already taken rather than lose either hook.
func Install(ctx context.Context, dir, toilPath string) (Result, error) {
	hooksDir, err := Dir(ctx, dir)
	if err != nil {
		return Result{}, err
	}
	res := Result{Path: filepath.Join(hooksDir, Name)}
	chained := filepath.Join(hooksDir, ChainedName)
	script := Script(toilPath)

	if _, err := os.Lstat(chained); err == nil {
		res.Chained = chained
	} else if !errors.Is(err, fs.ErrNotExist) {
		return res, err
	}

	current, err := readHook(res.Path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if res.Chained != "" {
			// A chained hook without toil's hook in front of it: something
			// other than toil moved things around; guessing could lose a hook.
			return res, fmt.Errorf("%s exists but %s does not; move %s back to %s (or delete it) and run toil hooks install again", chained, res.Path, ChainedName, Name)
		}
		res.Status = Installed
	case err != nil:
		return res, err
	case IsToilHook(current):
		if bytes.Equal(current, script) {
			res.Status = AlreadyInstalled
			return res, nil
		}
		res.Status = Updated
	default:
		if res.Chained != "" {
			return res, fmt.Errorf("cannot chain the existing hook %s: %s is taken by another hook; merge or remove one of them and run toil hooks install again", res.Path, chained)
		}
		res.Status = Chained
		res.Chained = chained
	}

	if err := os.MkdirAll(hooksDir, 0o755); err != nil {
		return res, fmt.Errorf("create hooks directory: %w", err)
	}
	if res.Status == Chained {
		// Rename keeps the hook exactly as it was (contents, mode, a
		// symlink stays a symlink), so Uninstall can put it back unchanged.
		if err := os.Rename(res.Path, chained); err != nil {
			return res, fmt.Errorf("move existing hook aside: %w", err)
		}
	}
	if err := writeFileAtomic(res.Path, script, 0o755); err != nil {
		if res.Status == Chained {
			// Put the user's hook back rather than leave no hook at all.
			_ = os.Rename(chained, res.Path)
		}
		return res, fmt.Errorf("write hook: %w", err)
	}
	return res, nil
}

// Uninstall removes toil's pre-commit hook from the repository containing
// dir and puts back the hook it chained, if any. It refuses to touch a
// pre-commit hook that toil did not write.
func Uninstall(ctx context.Context, dir string) (Result, error) {
	hooksDir, err := Dir(ctx, dir)
	if err != nil {
		return Result{}, err
	}
	res := Result{Path: filepath.Join(hooksDir, Name)}
	chained := filepath.Join(hooksDir, ChainedName)
	if _, err := os.Lstat(chained); err == nil {
		res.Chained = chained
	} else if !errors.Is(err, fs.ErrNotExist) {
		return res, err
	}

	current, err := readHook(res.Path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if res.Chained != "" {
			return res, fmt.Errorf("toil's hook is not installed, but %s exists; move it back to %s yourself if it is the hook you want", chained, res.Path)
		}
		res.Status = NotInstalled
		return res, nil
	case err != nil:
		return res, err
	case !IsToilHook(current):
		if res.Chained != "" {
			return res, fmt.Errorf("%s was not written by toil, so toil leaves it; the hook toil chained is still at %s", res.Path, chained)
		}
		res.Status = NotInstalled
		return res, nil
	}

	if res.Chained != "" {
		// One rename replaces toil's hook with the original: at no moment
		// is there no hook.
		if err := os.Rename(chained, res.Path); err != nil {
			return res, fmt.Errorf("restore chained hook: %w", err)
		}
		res.Status = Restored
		return res, nil
	}
	if err := os.Remove(res.Path); err != nil {
		return res, fmt.Errorf("remove hook: %w", err)
	}
	res.Status = Removed
	return res, nil
}

// readHook reads the hook at path; a symlink is followed. A dangling
// symlink reads as a hook with no contents: it is still someone's hook.
func readHook(path string) ([]byte, error) {
	if _, err := os.Lstat(path); err != nil {
		return nil, err
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read hook: %w", err)
	}
	return b, nil
}

// writeFileAtomic writes data to path through a temporary file in the same
// directory and a rename, so git never runs a half-written hook.
func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // no-op after a successful rename
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(mode); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
