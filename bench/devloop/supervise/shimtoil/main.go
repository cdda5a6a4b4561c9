// Command shimtoil is the shim inside a binary that links and initialises
// every package the toil command does (its cobra root and all commands),
// as `toil __shim` will once cmd/toil calls the shim before cobra.
package main

import (
	"os"

	_ "github.com/toilhq/toil/internal/cmd/root"
	"github.com/toilhq/toil/internal/shim"
)

func main() {
	if shim.Invoked(os.Args[1:]) {
		shim.Main(os.Args[1:])
	}
	os.Exit(2)
}
