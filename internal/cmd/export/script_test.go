package export_test

import (
	"fmt"
	"os"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
	"github.com/spf13/cobra"

	"github.com/toilhq/toil/internal/cmd/export"
	"github.com/toilhq/toil/internal/cmd/root"
	"github.com/toilhq/toil/internal/cmdutil"
)

// The scripts in testdata/script run `toil export` end to end through the
// root command, as cmd/toil does. Until root wires export in, they add it
// here; then they belong in the repository's testdata/script.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"toil": func() {
			f := &cmdutil.Factory{IO: cmdutil.System(), Version: "test"}
			cmd := root.NewCmdRoot(f)
			if !hasCommand(cmd, "export") {
				cmd.AddCommand(export.NewCmdExport(f))
			}
			cmd.SetArgs(os.Args[1:])
			err := cmd.Execute()
			if err != nil && err.Error() != "" {
				fmt.Fprintf(f.IO.ErrOut, "toil: %s\n", err)
			}
			os.Exit(cmdutil.ExitCode(err))
		},
	})
}

func hasCommand(cmd *cobra.Command, name string) bool {
	for _, c := range cmd.Commands() {
		if c.Name() == name {
			return true
		}
	}
	return false
}

func TestScripts(t *testing.T) {
	t.Parallel()
	testscript.Run(t, testscript.Params{Dir: "testdata/script", RequireExplicitExec: true})
}
