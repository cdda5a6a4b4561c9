// Package root assembles toil's command tree. It is wiring only: each command
// lives in its own package under internal/cmd.
package root

import (
	"os"

	"github.com/spf13/cobra"

	"github.com/toilhq/toil/internal/cmd/build"
	"github.com/toilhq/toil/internal/cmd/completion"
	"github.com/toilhq/toil/internal/cmd/dev"
	"github.com/toilhq/toil/internal/cmd/export"
	"github.com/toilhq/toil/internal/cmd/hooks"
	"github.com/toilhq/toil/internal/cmd/lint"
	newcmd "github.com/toilhq/toil/internal/cmd/new"
	"github.com/toilhq/toil/internal/cmd/run"
	"github.com/toilhq/toil/internal/cmd/up"
	"github.com/toilhq/toil/internal/cmd/version"
	"github.com/toilhq/toil/internal/cmdutil"
)

// NewCmdRoot returns the `toil` command with every subcommand attached.
func NewCmdRoot(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "toil <command>",
		Short: "Write, run, check and ship Go services the way production runs them",
		Long: `toil runs Go services the way production does.

  toil new NAME         create a module with one service that builds, tests and lints clean
  toil run PKG.NAME     run one service by name, no main package needed
  toil dev              run toil.yaml's whole layout as production does, reloading on save
  toil build            every service's binary, reproducible, for production
  toil up               run the layout from built binaries (toil up reload: roll every worker)
  toil export TARGET    write toil.yaml's layout as systemd units, nginx config, k8s manifests
  toil lint             stop stray debug prints and debugger calls before they land
  toil hooks install    run toil lint on staged lines before every commit`,
		Example: `  toil run hello.world
  toil run tempest.warmer --procs 16
  toil -C tempest dev
  toil lint ./...
  go vet -vettool=$(which toil) ./...`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       f.Version,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return cmdutil.UsageErrorf("unknown command %q; run 'toil --help' for the list", args[0])
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			return cmd.Help()
		},
	}
	// -C is go's and git's flag: run as if started in DIR, so one command
	// from a checkout's root can run a layout that lives below it.
	var chdir string
	cmd.PersistentFlags().StringVarP(&chdir, "chdir", "C", "", "run as if toil was started in `DIR`")
	cmd.PersistentPreRunE = func(c *cobra.Command, args []string) error {
		if chdir == "" {
			return nil
		}
		if err := os.Chdir(chdir); err != nil {
			return cmdutil.UsageErrorf("-C %s: %v; name an existing directory", chdir, err)
		}
		return nil
	}
	cmd.SetOut(f.IO.Out)
	cmd.SetErr(f.IO.ErrOut)
	cmd.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return cmdutil.UsageErrorf("%s; see '%s --help'", err, c.CommandPath())
	})
	cmd.CompletionOptions.DisableDefaultCmd = true
	cmd.SetVersionTemplate("toil {{.Version}}\n")

	cmd.AddCommand(
		version.NewCmdVersion(f),
		completion.NewCmdCompletion(f),
		newcmd.NewCmdNew(f, nil),
		run.NewCmdRun(f, nil),
		dev.NewCmdDev(f, nil),
		build.NewCmdBuild(f, nil),
		up.NewCmdUp(f, nil),
		export.NewCmdExport(f),
		lint.NewCmdLint(f, nil),
		hooks.NewCmdHooks(f),
	)
	return cmd
}
