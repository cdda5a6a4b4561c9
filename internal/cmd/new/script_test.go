package newcmd_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	newcmd "github.com/toilhq/toil/internal/cmd/new"
	"github.com/toilhq/toil/internal/cmd/root"
	"github.com/toilhq/toil/internal/cmd/version"
	"github.com/toilhq/toil/internal/cmdutil"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"toil": func() { os.Exit(toilMain(os.Args[1:])) },
	})
}

// toilMain is cmd/toil's run with `toil new` added when the root does not
// have it yet.
func toilMain(args []string) int {
	f := &cmdutil.Factory{IO: cmdutil.System(), Version: version.String()}
	cmd := root.NewCmdRoot(f)
	if c, _, err := cmd.Find([]string{"new"}); err != nil || c == cmd {
		cmd.AddCommand(newcmd.NewCmdNew(f, nil))
	}
	cmd.SetArgs(args)
	err := cmd.Execute()
	if err != nil && err.Error() != "" {
		fmt.Fprintf(f.IO.ErrOut, "toil: %s\n", err)
	}
	return cmdutil.ExitCode(err)
}

// TestScripts runs testdata/script/new_*.txtar here until they move to the
// repository's testdata/script, where cmd/toil runs them.
func TestScripts(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(filepath.Join("testdata", "script", "new_*.txtar"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Skip("no scripts here: cmd/toil runs testdata/script/new_*.txtar")
	}
	src, err := filepath.Abs("../../..")
	if err != nil {
		t.Fatal(err)
	}
	goEnv := goEnv(t)
	testscript.Run(t, testscript.Params{
		Files:               files,
		RequireExplicitExec: true,
		Setup: func(e *testscript.Env) error {
			e.Setenv("TOILSRC", src)
			for k, v := range goEnv {
				e.Setenv(k, v)
			}
			e.Setenv("GOTOOLCHAIN", "local")
			e.Setenv("GOSUMDB", "off")
			e.Setenv("NO_COLOR", "1")
			e.Setenv("XDG_CACHE_HOME", filepath.Join(e.WorkDir, ".cache"))
			return nil
		},
	})
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
