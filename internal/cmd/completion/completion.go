// Package completion implements `toil completion`.
package completion

import (
	"github.com/spf13/cobra"

	"github.com/toilhq/toil/internal/cmdutil"
)

// NewCmdCompletion returns the `toil completion bash|zsh|fish` command.
func NewCmdCompletion(f *cmdutil.Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "completion bash|zsh|fish",
		Short: "Print a shell completion script",
		Long: `Print the completion script for your shell on standard output.

Load it once in the current shell, or install it where your shell looks for completions.`,
		Example: `  # bash, this shell only
  source <(toil completion bash)
  # bash, for every new shell
  toil completion bash > /etc/bash_completion.d/toil
  # zsh
  toil completion zsh > "${fpath[1]}/_toil"
  # fish
  toil completion fish > ~/.config/fish/completions/toil.fish`,
		ValidArgs: []string{"bash", "zsh", "fish"},
		Args:      cmdutil.ExactArgs(1, "one shell: bash, zsh or fish"),
		RunE: func(cmd *cobra.Command, args []string) error {
			root := cmd.Root()
			switch args[0] {
			case "bash":
				return root.GenBashCompletionV2(f.IO.Out, true)
			case "zsh":
				return root.GenZshCompletion(f.IO.Out)
			case "fish":
				return root.GenFishCompletion(f.IO.Out, true)
			}
			return cmdutil.UsageErrorf("unknown shell %q: toil completes bash, zsh and fish", args[0])
		},
	}
}
