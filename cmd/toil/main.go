// Command toil writes, runs, checks and ships Go services the way production
// runs them. See https://github.com/toilhq/toil.
package main

import (
	"fmt"
	"os"

	"github.com/toilhq/toil/internal/cmd/root"
	"github.com/toilhq/toil/internal/cmd/version"
	"github.com/toilhq/toil/internal/cmdutil"
	"github.com/toilhq/toil/internal/shim"
	"github.com/toilhq/toil/internal/vettool"
)

func main() {
	os.Exit(run(os.Args[1:]))
}

// run is main without the exit, so the testscript runner can call it too.
func run(args []string) int {
	// Workers start through toil as a shim so LISTEN_PID is their own pid;
	// it must cost nothing, so it comes before anything else.
	if shim.Invoked(args) {
		shim.Main(args) // never returns: execs the worker
	}
	// go vet's handshake (-flags, -V=full, a .cfg file) is not a cobra
	// command line: pflag would reject -V=full, so it is answered first.
	if vettool.Invoked(args) {
		vettool.Main(args)
	}
	f := &cmdutil.Factory{IO: cmdutil.System(), Version: version.String()}
	cmd := root.NewCmdRoot(f)
	cmd.SetArgs(args)
	err := cmd.Execute()
	if err != nil && err.Error() != "" {
		fmt.Fprintf(f.IO.ErrOut, "toil: %s\n", err)
	}
	return cmdutil.ExitCode(err)
}
