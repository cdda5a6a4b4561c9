// Package lint implements `toil lint`.
package lint

import (
	"errors"

	"github.com/spf13/cobra"

	"github.com/toilhq/toil/internal/cmdutil"
)

// Options are the flags and arguments of `toil lint`.
type Options struct {
	IO *cmdutil.IOStreams
}

// NewCmdLint returns the `toil lint` command; runF replaces the logic in tests.
func NewCmdLint(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{IO: f.IO}
	return &cobra.Command{
		Use:     "lint",
		Short:   "(being built)",
		Example: "  toil lint",
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(opts)
			}
			return errors.New("toil lint is not built yet")
		},
	}
}
