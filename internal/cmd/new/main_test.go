package newcmd_test

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/toilhq/toil/internal/cmd/root"
	"github.com/toilhq/toil/internal/cmd/version"
	"github.com/toilhq/toil/internal/cmdutil"
	"github.com/toilhq/toil/internal/shim"
	"github.com/toilhq/toil/internal/vettool"
)

// TestMain lets this test binary, run under the name toil, be the toil
// command line the generated modules in the matrix test call. The
// scripts for `toil new` live in the repository's testdata/script.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"toil": func() { os.Exit(toilMain(os.Args[1:])) },
	})
}

// toilMain is cmd/toil's run: the shim toil dev starts workers through,
// and go vet's handshake, come first there too.
func toilMain(args []string) int {
	if shim.Invoked(args) {
		shim.Main(args) // never returns: execs the worker
	}
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

func goEnv(t *testing.T) map[string]string {
	t.Helper()
	keys := []string{"GOCACHE", "GOMODCACHE", "GOPROXY", "GOPATH", "GOROOT"}
	out, err := exec.Command("go", append([]string{"env"}, keys...)...).Output()
	if err != nil {
		t.Fatalf("go env: %v", err)
	}
	vals := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	env := map[string]string{}
	for i, k := range keys {
		env[k] = vals[i]
	}
	return env
}
