package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"toil": func() { os.Exit(run(os.Args[1:])) },
	})
}

// TestScripts runs the end-to-end scripts in testdata/script against the
// real toil command line. Scripts see:
//
//	$TOILSRC  the root of this checkout, for `replace github.com/toilhq/toil => $TOILSRC`
//
// and the go command's caches, so `go build` inside a script is warm.
func TestScripts(t *testing.T) {
	t.Parallel()
	src, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	goEnv := map[string]string{}
	out, err := exec.Command("go", "env", "GOCACHE", "GOMODCACHE", "GOPROXY", "GOPATH", "GOROOT").Output()
	if err != nil {
		t.Fatalf("go env: %v", err)
	}
	vals := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	for i, k := range []string{"GOCACHE", "GOMODCACHE", "GOPROXY", "GOPATH", "GOROOT"} {
		goEnv[k] = vals[i]
	}
	testscript.Run(t, testscript.Params{
		Dir:                 filepath.Join(src, "testdata", "script"),
		RequireExplicitExec: true,
		RequireUniqueNames:  true,
		Setup: func(e *testscript.Env) error {
			e.Setenv("TOILSRC", src)
			for k, v := range goEnv {
				e.Setenv(k, v)
			}
			e.Setenv("GOFLAGS", "-mod=mod")
			e.Setenv("GOTOOLCHAIN", "local")
			e.Setenv("GOSUMDB", "off")
			e.Setenv("NO_COLOR", "1")
			// toil's own caches (built service binaries) go under the script's work dir.
			e.Setenv("XDG_CACHE_HOME", filepath.Join(e.WorkDir, ".cache"))
			return nil
		},
	})
}
