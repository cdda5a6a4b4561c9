//go:build unix

package shim_test

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/toilhq/toil/internal/shim"
)

// The test binary is the shim when asked to be, as toil is.
func TestMain(m *testing.M) {
	if shim.Invoked(os.Args[1:]) {
		shim.Main(os.Args[1:])
	}
	os.Exit(m.Run())
}

func TestInvoked(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want bool
	}{
		{[]string{"__shim", "/bin/true"}, true},
		{[]string{"__shim"}, true}, // Main then says what is missing
		{nil, false},
		{[]string{"dev"}, false},
		{[]string{"run", "__shim"}, false},
	} {
		if got := shim.Invoked(tc.args); got != tc.want {
			t.Errorf("Invoked(%q) = %v, want %v", tc.args, got, tc.want)
		}
	}
}

// The worker the shim execs has LISTEN_PID set to its own pid, which is
// the shim's: the exec keeps it. Other variables and the arguments pass
// through; an earlier LISTEN_PID is replaced.
func TestShimSetsListenPIDToTheWorkersPID(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	argv := shim.Command(self, "/bin/sh", "-c", `echo "$LISTEN_PID $$ $LISTEN_FDS $0 $1"`, "zero", "one")
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), "LISTEN_PID=1", "LISTEN_FDS=1")
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(out))
	if len(f) != 5 || f[0] != f[1] || f[2] != "1" || f[3] != "zero" || f[4] != "one" {
		t.Fatalf("the worker printed %q; want LISTEN_PID equal to its pid, LISTEN_FDS kept, arguments passed", out)
	}
}

// A worker binary that cannot be run is a clear message and status 127.
func TestShimCannotExec(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self, shim.Arg, "/nonexistent/worker")
	out, err := cmd.CombinedOutput()
	ee, ok := err.(*exec.ExitError)
	if !ok || ee.ExitCode() != 127 {
		t.Fatalf("err = %v, want exit status 127", err)
	}
	if !strings.Contains(string(out), "start worker /nonexistent/worker: no such file or directory") {
		t.Errorf("output %q does not say which binary could not start and why", out)
	}
}
