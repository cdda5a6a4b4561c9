package newcmd_test

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	newcmd "github.com/toilhq/toil/internal/cmd/new"
	"github.com/toilhq/toil/internal/cmdutil"
)

// TestGeneratedModules generates every template into a temp dir and checks
// what a user would run first: go build, go vet, go test and toil lint
// pass, and toil run runs the service (the http one answers a request).
// The go command shares this test's build cache, so only the new module's
// own packages compile.
func TestGeneratedModules(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and tests three generated modules")
	}
	t.Parallel()
	toil := toilBinary(t)
	gocache := goEnv(t)["GOCACHE"]
	cases := []struct {
		template string
		args     []string // after NAME
		name     string
		run      string // what toil run takes
	}{
		{"http", []string{"--module", "example.com/team/billing"}, "billing", "billing.server"},
		{"worker", []string{"--set", "service=Poller", "--module", "example.com/ads/scorer"}, "scorer", "scorer.poller"},
		// The module path is NAME, and report.run is still the report/ package.
		{"func", nil, "report", "report.run"},
	}
	for _, tc := range cases {
		t.Run(tc.template, func(t *testing.T) {
			t.Parallel()
			dir := filepath.Join(t.TempDir(), tc.name)
			var out, errOut bytes.Buffer
			f := &cmdutil.Factory{IO: cmdutil.Test(strings.NewReader(""), &out, &errOut)}
			cmd := newcmd.NewCmdNew(f, nil)
			cmd.SetArgs(append([]string{tc.name, "--template", tc.template, "--dir", dir, "--no-git"}, tc.args...))
			if err := cmd.Execute(); err != nil {
				t.Fatalf("toil new: %v\n%s%s", err, out.String(), errOut.String())
			}
			env := append(os.Environ(), "GOWORK=off", "GOFLAGS=", "GOCACHE="+gocache, "XDG_CACHE_HOME="+t.TempDir(), "NO_COLOR=1")
			for _, argv := range [][]string{
				{"go", "build", "./..."},
				{"go", "vet", "./..."},
				{"go", "test", "./..."},
				{toil, "lint", "./..."},
			} {
				c := exec.Command(argv[0], argv[1:]...)
				c.Dir, c.Env = dir, env
				if b, err := c.CombinedOutput(); err != nil {
					t.Fatalf("%s in the generated module: %v\n%s", strings.Join(argv[1:], " "), err, b)
				}
			}
			switch tc.template {
			case "func":
				c := exec.Command(toil, "run", tc.run)
				c.Dir, c.Env = dir, env
				b, err := c.CombinedOutput()
				if err != nil || !strings.Contains(string(b), `"msg":"ran"`) {
					t.Fatalf("toil run %s: %v, want it to log ran and exit 0:\n%s", tc.run, err, b)
				}
			case "worker":
				runUntilReady(t, toil, dir, tc.run, env, nil)
			case "http":
				port := freePort(t)
				runUntilReady(t, toil, dir, tc.run, append(env, "PORT="+port), func() {
					resp, err := http.Get("http://127.0.0.1:" + port + "/greet/ann")
					if err != nil {
						t.Fatal(err)
					}
					defer resp.Body.Close()
					body, _ := io.ReadAll(resp.Body)
					if resp.StatusCode != http.StatusOK || string(body) != "hello, ann\n" {
						t.Errorf("GET /greet/ann = %d %q, want 200 %q", resp.StatusCode, body, "hello, ann\n")
					}
				})
			}
		})
	}
}

// runUntilReady starts toil run, waits for the worker's ready line, calls
// check, then interrupts it as Ctrl-C would and wants a clean exit.
func runUntilReady(t *testing.T, toil, dir, service string, env []string, check func()) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c := exec.CommandContext(ctx, toil, "run", service)
	c.Dir, c.Env = dir, env
	c.Cancel = func() error { return c.Process.Signal(syscall.SIGINT) }
	stderr, err := c.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	ready := make(chan bool, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(stderr)
		seen := false
		for sc.Scan() {
			log.WriteString(sc.Text() + "\n")
			if !seen && strings.Contains(sc.Text(), `"msg":"ready"`) {
				seen = true
				ready <- true
			}
		}
		if !seen {
			ready <- false
		}
	}()
	if <-ready && check != nil {
		check()
	}
	_ = c.Process.Signal(syscall.SIGINT)
	<-done
	if err := c.Wait(); err != nil {
		t.Errorf("toil run %s after SIGINT: %v", service, err)
	}
	if !strings.Contains(log.String(), `"msg":"ready"`) || !strings.Contains(log.String(), `"msg":"stopped"`) {
		t.Errorf("toil run %s: want a ready and a stopped line:\n%s", service, log.String())
	}
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return port
}

// toilBinary returns a toil for the generated modules to run: this test
// binary under the name toil, which TestMain turns into the command line.
func toilBinary(t *testing.T) string {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(t.TempDir(), "toil")
	if err := os.Symlink(exe, link); err != nil {
		t.Fatal(err)
	}
	return link
}
