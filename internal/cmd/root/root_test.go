package root

import (
	"bytes"
	"testing"

	"github.com/spf13/cobra"

	"github.com/toilhq/toil/internal/cmdutil"
)

// Every command a user can reach shows an example in --help.
func TestEveryCommandHasAnExample(t *testing.T) {
	var out bytes.Buffer
	f := &cmdutil.Factory{IO: cmdutil.Test(nil, &out, &out), Version: "test"}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c.Hidden || c.Name() == "help" {
			return
		}
		if c.Example == "" {
			t.Errorf("%q has no Example in its --help", c.CommandPath())
		}
		if c.Short == "" || c.Short == "(being built)" {
			t.Errorf("%q has no one-line description", c.CommandPath())
		}
		if c.Run != nil {
			t.Errorf("%q uses Run; commands use RunE so errors reach the exit code", c.CommandPath())
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(NewCmdRoot(f))
}
