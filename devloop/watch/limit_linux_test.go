package watch

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// The limit tests lower an inotify limit for real, without touching the
// machine's: the test binary re-runs itself in a new user namespace, whose
// inotify limits (/proc/sys/user/max_inotify_*) are its own, and calls New
// there. limitChild is that child's side; TestMain runs it.
const limitChildEnv = "TOIL_WATCH_LIMIT_CHILD"

func TestMain(m *testing.M) {
	if spec := os.Getenv(limitChildEnv); spec != "" {
		os.Exit(limitChild(spec))
	}
	os.Exit(m.Run())
}

// limitChild sets the limit named in spec ("watches=5:/dir") and prints
// what New says about dir.
func limitChild(spec string) int {
	setting, dir, _ := strings.Cut(spec, ":")
	name, value, _ := strings.Cut(setting, "=")
	if err := os.WriteFile("/proc/sys/user/max_inotify_"+name, []byte(value), 0); err != nil {
		fmt.Printf("SKIP: set the namespace's inotify limit: %v\n", err)
		return 0
	}
	w, err := New(dir, Options{getenv: func(string) string { return "" }})
	if err == nil {
		w.Close()
		fmt.Println("NO ERROR")
		return 0
	}
	var le *LimitError
	fmt.Printf("LimitError=%v\n%v\n", errors.As(err, &le), err)
	return 0
}

// runLimited runs limitChild in a new user namespace.
func runLimited(t *testing.T, spec string) string {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), limitChildEnv+"="+spec)
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags:  syscall.CLONE_NEWUSER,
		UidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getuid(), Size: 1}},
		GidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getgid(), Size: 1}},
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			t.Skipf("cannot start a process in a new user namespace here: %v", err)
		}
		t.Fatalf("child: %v\n%s", err, out)
	}
	if s, ok := strings.CutPrefix(string(out), "SKIP: "); ok {
		t.Skip(s)
	}
	return string(out)
}

func TestWatchLimitReached(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	for i := range 20 {
		must(t, os.MkdirAll(filepath.Join(root, "d"+strconv.Itoa(i)), 0o755))
	}
	out := runLimited(t, "watches=5:"+root)
	for _, want := range []string{
		"LimitError=true",
		"the inotify watch limit is reached",
		"(5 so far)",
		"sudo sysctl fs.inotify.max_user_watches=524288",
		"echo fs.inotify.max_user_watches=524288 | sudo tee /etc/sysctl.d/90-inotify.conf",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("New over the watch limit: message lacks %q:\n%s", want, out)
		}
	}
}

func TestInstanceLimitReached(t *testing.T) {
	t.Parallel()
	out := runLimited(t, "instances=0:"+t.TempDir())
	for _, want := range []string{
		"LimitError=true",
		"too many inotify instances",
		"sudo sysctl fs.inotify.max_user_instances=1024",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("New over the instance limit: message lacks %q:\n%s", want, out)
		}
	}
}
