package clitool

import (
	"github.com/davecgh/go-spew/spew"
	"github.com/k0kubun/pp/v3"
	"github.com/spf13/cobra"
)

var Root = &cobra.Command{
	Use: "tool",
	RunE: func(cmd *cobra.Command, args []string) error {
		pp.Println(args)
		spew.Dump(args) // want `spew.Dump call dumps to stdout`
		return nil
	},
}
