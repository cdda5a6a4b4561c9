// Package hooks implements `toil hooks install` and `toil hooks uninstall`.
package hooks

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	githooks "github.com/toilhq/toil/hooks"
	"github.com/toilhq/toil/internal/cmdutil"
)

// Options are the inputs of `toil hooks install` and `toil hooks uninstall`.
type Options struct {
	IO *cmdutil.IOStreams
	// Dir is a directory inside the repository; the current one by default.
	Dir string
	// Executable returns the path of the running toil binary.
	Executable func() (string, error)
}

// NewCmdHooks returns the `toil hooks` command.
func NewCmdHooks(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "hooks <command>",
		Short: "Install or remove the git pre-commit hook that runs toil lint --staged",
		Long: `Manage the git pre-commit hook that runs 'toil lint --staged' before each commit,
so a stray fmt.Println, spew.Dump or runtime.Breakpoint on a line the commit adds
stops the commit.

The hook goes where git runs hooks from: core.hooksPath when set, else the
repository's hooks directory (shared by its worktrees). A pre-commit hook that is
already there is kept: it is renamed to pre-commit.toil-chained and runs first.
'toil hooks uninstall' puts it back.

With the pre-commit framework, use the toil-lint hook from toil's
.pre-commit-hooks.yaml instead.`,
		Example: `  toil hooks install
  toil hooks uninstall
  git commit --no-verify   # skip the hook for one commit`,
		Args: cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return cmd.Help()
		},
	}
	cmd.AddCommand(NewCmdInstall(f, nil), NewCmdUninstall(f, nil))
	return cmd
}

func newOptions(f *cmdutil.Factory) *Options {
	return &Options{IO: f.IO, Dir: ".", Executable: os.Executable}
}

// NewCmdInstall returns `toil hooks install`; runF replaces the logic in tests.
func NewCmdInstall(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	opts := newOptions(f)
	return &cobra.Command{
		Use:   "install",
		Short: "Install the pre-commit hook in this repository",
		Long: `Install a git pre-commit hook that runs 'toil lint --staged'.

The hook runs this toil binary by its absolute path, so the commit uses the toil
that installed it; if that file is gone (an upgrade moved it, or toil ran from a
temporary 'go run' build), the hook runs the toil on PATH instead.

An existing pre-commit hook is renamed to pre-commit.toil-chained and runs first;
if it fails, the commit stops there. Installing again is safe: it reports that the
hook is already installed, or rewrites toil's own hook when toil moved.`,
		Example: `  toil hooks install`,
		Args:    cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(opts)
			}
			return installRun(cmd.Context(), opts)
		},
	}
}

// NewCmdUninstall returns `toil hooks uninstall`; runF replaces the logic in tests.
func NewCmdUninstall(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	opts := newOptions(f)
	return &cobra.Command{
		Use:   "uninstall",
		Short: "Remove the pre-commit hook and restore the one it chained",
		Long: `Remove toil's pre-commit hook and put back the hook it chained, if any, exactly
as it was. A pre-commit hook that toil did not write is left alone.`,
		Example: `  toil hooks uninstall`,
		Args:    cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(opts)
			}
			return uninstallRun(cmd.Context(), opts)
		},
	}
}

// temporaryBuild reports whether exe is a binary the go command built into
// a temporary or cache directory (go run, go tool): a hook must not pin it.
func temporaryBuild(exe string) bool {
	for _, elem := range strings.Split(filepath.ToSlash(exe), "/") {
		if strings.HasPrefix(elem, "go-build") {
			return true
		}
	}
	return false
}

func installRun(ctx context.Context, opts *Options) error {
	if ctx == nil {
		ctx = context.Background()
	}
	exe, err := opts.Executable()
	if err != nil {
		return fmt.Errorf("find the toil executable: %w", err)
	}
	pinned := exe
	if temporaryBuild(exe) {
		pinned = ""
	}
	res, err := githooks.Install(ctx, opts.Dir, pinned)
	if err != nil {
		return err
	}
	out := opts.IO.Out
	runs := "'" + pinned + " lint --staged'"
	if pinned == "" {
		runs = "'toil lint --staged' with the toil on PATH (this toil is a temporary go build)"
	}
	switch res.Status {
	case githooks.AlreadyInstalled:
		fmt.Fprintf(out, "toil's pre-commit hook is already installed at %s\n", res.Path)
		return nil
	case githooks.Updated:
		fmt.Fprintf(out, "Updated toil's pre-commit hook at %s: each commit runs %s\n", res.Path, runs)
	default:
		fmt.Fprintf(out, "Installed the pre-commit hook at %s: each commit runs %s\n", res.Path, runs)
	}
	if res.Status == githooks.Chained {
		fmt.Fprintf(out, "The hook that was there is now %s and runs first; 'toil hooks uninstall' puts it back.\n", res.Chained)
	} else if res.Chained != "" {
		fmt.Fprintf(out, "It still runs the chained hook %s first.\n", res.Chained)
	}
	return nil
}

func uninstallRun(ctx context.Context, opts *Options) error {
	if ctx == nil {
		ctx = context.Background()
	}
	res, err := githooks.Uninstall(ctx, opts.Dir)
	if err != nil {
		return err
	}
	out := opts.IO.Out
	switch res.Status {
	case githooks.Restored:
		fmt.Fprintf(out, "Removed toil's pre-commit hook and restored the hook it chained at %s\n", res.Path)
	case githooks.Removed:
		fmt.Fprintf(out, "Removed toil's pre-commit hook from %s\n", res.Path)
	default:
		fmt.Fprintf(out, "toil's pre-commit hook is not installed at %s; nothing to do\n", res.Path)
	}
	return nil
}
