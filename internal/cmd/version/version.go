// Package version implements `toil version`.
package version

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"

	"github.com/toilhq/toil/internal/cmdutil"
)

// Stamped is set at link time by `toil build`-style releases:
// -ldflags "-X github.com/toilhq/toil/internal/cmd/version.Stamped=v1.2.3".
var Stamped string

// String returns toil's version: the stamped one, else the module version
// from the build info, else "devel" with the VCS revision when known.
func String() string {
	v := Stamped
	info, ok := debug.ReadBuildInfo()
	if v == "" && ok && info.Main.Version != "" && info.Main.Version != "(devel)" {
		v = info.Main.Version
	}
	if v == "" {
		v = "devel"
	}
	if !ok {
		return v
	}
	var rev, modified string
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				modified = "+dirty"
			}
		}
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if rev != "" {
		v += " (" + rev + modified + ")"
	}
	return v
}

// NewCmdVersion returns the `toil version` command.
func NewCmdVersion(f *cmdutil.Factory) *cobra.Command {
	return &cobra.Command{
		Use:     "version",
		Short:   "Print toil's version",
		Example: "  toil version",
		Args:    cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			_, err := fmt.Fprintf(f.IO.Out, "toil %s %s/%s %s\n", f.Version, runtime.GOOS, runtime.GOARCH, runtime.Version())
			return err
		},
	}
}
