// Package hooks implements `toil hooks`.
package hooks

import (
	"errors"

	"github.com/spf13/cobra"

	"github.com/toilhq/toil/internal/cmdutil"
)

// NewCmdHooks returns the `toil hooks` command.
func NewCmdHooks(f *cmdutil.Factory) *cobra.Command {
	return &cobra.Command{
		Use:     "hooks",
		Short:   "(being built)",
		Example: "  toil hooks install",
		RunE: func(cmd *cobra.Command, args []string) error {
			return errors.New("toil hooks is not built yet")
		},
	}
}
