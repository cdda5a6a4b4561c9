package scaffold

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

// Action is what writing does with one file.
type Action string

// The actions of a write, as --force and --dry-run report them.
const (
	Create    Action = "create"    // the file is not there: it is written
	Identical Action = "identical" // the file is there with the same contents: left alone
	Conflict  Action = "conflict"  // the file is there with other contents: left alone, not written
	Update    Action = "update"    // toil new service: toil.yaml or toil.config.yaml, edited in place
)

// Entry is one file of a plan.
type Entry struct {
	Path   string
	Action Action
}

// Plan says what writing files into dir would do. A dir that does not exist
// or is empty takes every file. A non-empty dir is refused unless force,
// and then each file is compared with what is there; nothing is ever
// deleted or overwritten.
func Plan(dir string, files []File, force bool) ([]Entry, error) {
	empty, err := isEmpty(dir)
	if err != nil {
		return nil, err
	}
	if !empty && !force {
		return nil, &InputError{Flag: "--dir", Msg: fmt.Sprintf("%s exists and is not empty: choose another directory with --dir, or add --force to write only the files that are not there (nothing is overwritten or deleted)", dir)}
	}
	plan := make([]Entry, 0, len(files))
	for _, f := range files {
		e := Entry{Path: f.Path, Action: Create}
		if !empty {
			have, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(f.Path)))
			switch {
			case err == nil && bytes.Equal(have, f.Data):
				e.Action = Identical
			case err == nil:
				e.Action = Conflict
			case errors.Is(err, fs.ErrNotExist):
			default:
				// A directory where a file goes, or unreadable: not ours to touch.
				e.Action = Conflict
			}
		}
		plan = append(plan, e)
	}
	return plan, nil
}

// isEmpty reports whether dir is missing or an empty directory.
func isEmpty(dir string) (bool, error) {
	ents, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return true, nil
	case err != nil:
		if fi, serr := os.Stat(dir); serr == nil && !fi.IsDir() {
			return false, &InputError{Flag: "--dir", Msg: fmt.Sprintf("%s is a file, not a directory: choose another place with --dir", dir)}
		}
		return false, fmt.Errorf("read %s: %w", dir, err)
	}
	return len(ents) == 0, nil
}

// Stage writes files into a new temp dir beside dir (so the final rename
// stays on one file system) and, when tidy, runs go mod tidy there to
// write go.sum. It returns the temp dir, which the caller commits with
// Commit or removes.
func Stage(ctx context.Context, dir string, files []File, tidy bool) (string, error) {
	parent := filepath.Dir(filepath.Clean(dir))
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return "", fmt.Errorf("create %s: %w", parent, err)
	}
	tmp, err := os.MkdirTemp(parent, ".toil-new-*")
	if err != nil {
		return "", fmt.Errorf("create a temp dir beside %s: %w", dir, err)
	}
	ok := false
	defer func() {
		if !ok {
			os.RemoveAll(tmp)
		}
	}()
	if err := os.Chmod(tmp, 0o755); err != nil {
		return "", err
	}
	for _, f := range files {
		p := filepath.Join(tmp, filepath.FromSlash(f.Path))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return "", err
		}
		if err := os.WriteFile(p, f.Data, f.Mode); err != nil {
			return "", err
		}
	}
	if tidy {
		if err := goModTidy(ctx, tmp); err != nil {
			return "", err
		}
	}
	ok = true
	return tmp, nil
}

func goModTidy(ctx context.Context, dir string) error {
	cmd := exec.CommandContext(ctx, "go", "mod", "tidy")
	cmd.Dir = dir
	// The new module is a module of its own, whatever workspace it sits in.
	cmd.Env = append(os.Environ(), "GOWORK=off")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go mod tidy in the new module: %w\n%s", err, strings.TrimSpace(out.String()))
	}
	return nil
}

// Files reads back every file of a staged dir (go.sum included), except
// .git, as Plan and Commit take them.
func Files(staged string) ([]File, error) {
	var files []File
	err := filepath.WalkDir(staged, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if d.Name() == ".git" {
				return filepath.SkipDir
			}
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(staged, p)
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		files = append(files, File{Path: filepath.ToSlash(rel), Data: data, Mode: info.Mode().Perm()})
		return nil
	})
	return files, err
}

// Commit moves a staged module into dir. A missing or empty dir is
// replaced by the staged dir in one rename, so dir is either absent or
// complete. Otherwise only the plan's Create files are moved, one rename
// each; the rest stay as they are. The staged dir is removed either way.
func Commit(staged, dir string, plan []Entry) error {
	defer os.RemoveAll(staged)
	empty, err := isEmpty(dir)
	if err != nil {
		return err
	}
	if empty {
		// rename(2) replaces an empty directory, but only on some systems:
		// remove it first.
		if err := os.Remove(dir); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("replace empty %s: %w", dir, err)
		}
		if err := os.Rename(staged, dir); err != nil {
			return fmt.Errorf("move the new module into %s: %w", dir, err)
		}
		return nil
	}
	for _, e := range plan {
		if e.Action != Create {
			continue
		}
		dst := filepath.Join(dir, filepath.FromSlash(e.Path))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		// Link, not rename: link fails if a file appeared there since the
		// plan, so nothing is ever overwritten.
		if err := os.Link(filepath.Join(staged, filepath.FromSlash(e.Path)), dst); err != nil {
			return fmt.Errorf("write %s: %w", dst, err)
		}
	}
	return nil
}

// WriteService writes what AddService returned into the module at root:
// each Create file is written to a temp file and linked into place, so it
// never replaces one that appeared meanwhile; each Update file (toil.yaml,
// toil.config.yaml) replaces the old one in one rename, so a reader sees
// the old file or the new, never half of one.
func WriteService(root string, files []File, plan []Entry) error {
	action := map[string]Action{}
	for _, e := range plan {
		action[e.Path] = e.Action
	}
	for _, f := range files {
		a := action[f.Path]
		if a != Create && a != Update {
			continue
		}
		dst := filepath.Join(root, filepath.FromSlash(f.Path))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		tmp, err := os.CreateTemp(filepath.Dir(dst), ".toil-new-*")
		if err != nil {
			return fmt.Errorf("write %s: %w", dst, err)
		}
		_, err = tmp.Write(f.Data)
		if cerr := tmp.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			err = os.Chmod(tmp.Name(), f.Mode)
		}
		if err == nil {
			if a == Update {
				err = os.Rename(tmp.Name(), dst)
			} else {
				err = os.Link(tmp.Name(), dst)
			}
		}
		os.Remove(tmp.Name())
		if err != nil {
			return fmt.Errorf("write %s: %w", dst, err)
		}
	}
	return nil
}
