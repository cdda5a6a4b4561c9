package scaffold

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// InRepo reports whether dir (which need not exist yet) would be inside a
// git repository: toil new then leaves git to the user, as cargo new does.
func InRepo(dir string) (bool, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return false, err
	}
	// The nearest existing ancestor is where git would look from.
	for {
		if _, err := os.Stat(abs); err == nil {
			break
		}
		parent := filepath.Dir(abs)
		if parent == abs {
			return false, nil
		}
		abs = parent
	}
	_, err = git.PlainOpenWithOptions(abs, &git.PlainOpenOptions{DetectDotGit: true, EnableDotGitCommonDir: true})
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, git.ErrRepositoryNotExists):
		return false, nil
	default:
		return false, fmt.Errorf("look for a git repository around %s: %w", dir, err)
	}
}

// InitRepo makes dir a git repository whose first commit holds every file
// in it, authored as the user's git config says (or as toil when it says
// nothing).
func InitRepo(dir, message string) error {
	repo, err := git.PlainInit(dir, false)
	if err != nil {
		return fmt.Errorf("git init %s: %w", dir, err)
	}
	wt, err := repo.Worktree()
	if err != nil {
		return fmt.Errorf("git init %s: %w", dir, err)
	}
	if err := wt.AddWithOptions(&git.AddOptions{All: true}); err != nil {
		return fmt.Errorf("git add in %s: %w", dir, err)
	}
	sig := &object.Signature{Name: "toil", Email: "toil@localhost", When: time.Now()}
	if cfg, err := config.LoadConfig(config.GlobalScope); err == nil {
		if cfg.User.Name != "" {
			sig.Name = cfg.User.Name
		}
		if cfg.User.Email != "" {
			sig.Email = cfg.User.Email
		}
	}
	if _, err := wt.Commit(message, &git.CommitOptions{Author: sig}); err != nil {
		return fmt.Errorf("git commit in %s: %w", dir, err)
	}
	return nil
}
