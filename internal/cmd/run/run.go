// Package run implements `toil run`.
package run

import (
	"errors"

	"github.com/spf13/cobra"

	"github.com/toilhq/toil/internal/cmdutil"
)

// Options are the flags and arguments of `toil run`.
type Options struct {
	IO *cmdutil.IOStreams
}

// NewCmdRun returns the `toil run` command; runF replaces the logic in tests.
func NewCmdRun(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{IO: f.IO}
	return &cobra.Command{
		Use:     "run",
		Short:   "(being built)",
		Example: "  toil run",
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(opts)
			}
			return errors.New("toil run is not built yet")
		},
	}
}
