package newcmd_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	newcmd "github.com/toilhq/toil/internal/cmd/new"
	"github.com/toilhq/toil/internal/cmdutil"
	"github.com/toilhq/toil/internal/testserver"
	"github.com/toilhq/toil/templates"
)

// matrixCase is one generated module of the matrix.
type matrixCase struct {
	name     string
	template string
	args     []string // after NAME: --with, --set, --module
	run      string   // what toil run takes
	with     []string
	// service, when set, is added with toil new service after the module
	// is made: PKG.NAME, then its flags; serviceRun is what toil run takes.
	service    []string
	serviceRun string
}

// matrix is every template alone, and every struct template with each
// --with option alone and with all of them: 21 modules, each a test binary
// and a toil run build (about 40 s on two cores with a warm cache, 2–3 min
// when the box is loaded).
func matrix() []matrixCase {
	cases := []matrixCase{
		{name: "billing", template: "http", args: []string{"--module", "example.com/team/billing"}, run: "billing.server",
			service: []string{"invoices.mailer", "--template", "consumer", "--with", "sql"}, serviceRun: "invoices.mailer"},
		{name: "scorer", template: "worker", args: []string{"--set", "service=Poller", "--module", "example.com/ads/scorer"}, run: "scorer.poller"},
		// The module path is NAME, and report.run is still the report/ package.
		{name: "report", template: "func", run: "report.run"},
		{name: "jobs", template: "consumer", args: []string{"--module", "example.com/team/jobs"}, run: "jobs.consumer"},
		{name: "events", template: "pipeline", args: []string{"--module", "example.com/team/events"}, run: "events.ingest"},
	}
	var all []string
	for _, m := range templates.Mixins {
		all = append(all, m.Name)
	}
	for _, t := range templates.All {
		if t.Func {
			continue
		}
		service := strings.ToLower(t.Service)
		// --with a --with b,c: both spellings at once.
		name := t.Name + "all"
		cases = append(cases, matrixCase{name: name, template: t.Name, with: all, run: name + "." + service,
			args: []string{"--with", all[0], "--with", strings.Join(all[1:], ","), "--module", "example.com/m/" + name}})
		for _, m := range templates.Mixins {
			name := t.Name + m.Name
			cases = append(cases, matrixCase{name: name, template: t.Name, args: []string{"--with", m.Name, "--module", "example.com/m/" + name},
				run: name + "." + service, with: []string{m.Name}})
		}
	}
	return cases
}

// TestGeneratedModules generates every template, alone and with the
// --with options, into one temp dir, adds a service to one of them with
// toil new service, and checks what a user would run first: go build, go
// vet, go test and toil lint pass, and toil run runs each service (ready,
// then a clean stop on SIGINT; the http ones answer a request). A go.work
// over all the modules lets one go build, vet, test and lint each cover
// them all; the go command shares this test's build cache, so only the new
// modules' own packages compile.
func TestGeneratedModules(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and tests a generated module per template")
	}
	t.Parallel()
	toil := toilBinary(t)
	gocache := goEnv(t)["GOCACHE"]
	root := t.TempDir()
	cases := matrix()

	start := time.Now()
	// Generate in parallel: each is mostly go mod tidy.
	errs := make([]error, len(cases))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 4)
	for i, tc := range cases {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			var out bytes.Buffer
			f := &cmdutil.Factory{IO: cmdutil.Test(strings.NewReader(""), &out, &out)}
			dir := filepath.Join(root, tc.name)
			cmd := newcmd.NewCmdNew(f, nil)
			cmd.SetArgs(append([]string{tc.name, "--template", tc.template, "--dir", dir, "--no-git"}, tc.args...))
			if err := cmd.Execute(); err != nil {
				errs[i] = fmt.Errorf("toil new %s: %v\n%s", tc.name, err, out.String())
				return
			}
			if tc.service == nil {
				return
			}
			cmd = newcmd.NewCmdService(f, func(o *newcmd.ServiceOptions) error {
				o.Dir = dir
				return newcmd.RunService(o)
			})
			cmd.SetArgs(tc.service)
			if err := cmd.Execute(); err != nil {
				errs[i] = fmt.Errorf("toil new service %s in %s: %v\n%s", strings.Join(tc.service, " "), tc.name, err, out.String())
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	t.Logf("toil new of %d modules: %s", len(cases), time.Since(start).Round(time.Millisecond))

	var work strings.Builder
	work.WriteString("go 1.26.0\n\nuse (\n")
	var pkgs []string
	for _, tc := range cases {
		fmt.Fprintf(&work, "\t./%s\n", tc.name)
		pkgs = append(pkgs, "./"+tc.name+"/...")
	}
	work.WriteString(")\n")
	if err := os.WriteFile(filepath.Join(root, "go.work"), []byte(work.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(), "GOWORK="+filepath.Join(root, "go.work"), "GOFLAGS=", "GOCACHE="+gocache,
		"XDG_CACHE_HOME="+t.TempDir(), "NO_COLOR=1")
	for _, argv := range [][]string{
		append([]string{"go", "build"}, pkgs...),
		append([]string{"go", "vet"}, pkgs...),
		append([]string{"go", "test"}, pkgs...),
		append([]string{toil, "lint"}, pkgs...),
	} {
		start := time.Now()
		c := exec.Command(argv[0], argv[1:]...)
		c.Dir, c.Env = root, env
		if b, err := c.CombinedOutput(); err != nil {
			t.Fatalf("%s over the generated modules: %v\n%s", filepath.Base(argv[0])+" "+argv[1], err, b)
		}
		t.Logf("%s %s: %s", filepath.Base(argv[0]), argv[1], time.Since(start).Round(time.Millisecond))
	}

	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := filepath.Join(root, tc.name)
			// A copy: appending to the shared slice would race with the
			// other subtests.
			env := slices.Clone(env)
			for _, m := range tc.with {
				switch m {
				case "redis":
					env = append(env, "REDIS_URL="+testserver.Redis(t).URL())
				case "queue":
					env = append(env, "NATS_URL="+testserver.NATS(t).URL())
				}
			}
			if tc.serviceRun != "" {
				runUntilReady(t, toil, dir, tc.serviceRun, env, nil)
			}
			if tc.name == "httpall" {
				// toil dev runs it as toil.yaml says: its backing redis and
				// NATS, its config section under its toil.yaml name.
				devUntilReady(t, toil, dir, env)
			}
			switch tc.template {
			case "func":
				c := exec.Command(toil, "run", tc.run)
				c.Dir, c.Env = dir, env
				b, err := c.CombinedOutput()
				if err != nil || !strings.Contains(string(b), `"msg":"ran"`) {
					t.Fatalf("toil run %s: %v, want it to log ran and exit 0:\n%s", tc.run, err, b)
				}
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
			default:
				runUntilReady(t, toil, dir, tc.run, env, nil)
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
		t.Errorf("toil run %s after SIGINT: %v\n%s", service, err, log.String())
	}
	if !strings.Contains(log.String(), `"msg":"ready"`) || !strings.Contains(log.String(), `"msg":"stopped"`) {
		t.Errorf("toil run %s: want a ready and a stopped line:\n%s", service, log.String())
	}
}

// devUntilReady runs toil dev in dir, on a free port, until the service
// says it is ready; then a request through its listen address must be
// answered with the greeting of toil.config.yaml, and Ctrl-C must stop
// everything cleanly.
func devUntilReady(t *testing.T, toil, dir string, env []string) {
	t.Helper()
	port := freePort(t)
	lay := filepath.Join(dir, "toil.yaml")
	data, err := os.ReadFile(lay)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(lay, bytes.Replace(data, []byte("127.0.0.1:8080"), []byte("127.0.0.1:"+port), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c := exec.CommandContext(ctx, toil, "dev")
	c.Dir, c.Env = dir, env
	c.Cancel = func() error { return c.Process.Signal(syscall.SIGINT) }
	out, err := c.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	c.Stderr = c.Stdout
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	ready := make(chan bool, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(out)
		seen := false
		for sc.Scan() {
			log.WriteString(sc.Text() + "\n")
			if !seen && strings.Contains(sc.Text(), " 1/1 ready") {
				seen = true
				ready <- true
			}
		}
		if !seen {
			ready <- false
		}
	}()
	if <-ready {
		resp, err := http.Get("http://127.0.0.1:" + port + "/greet/ann")
		if err != nil {
			t.Error(err)
		} else {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || string(body) != "hello, ann\n" {
				t.Errorf("toil dev: GET /greet/ann = %d %q, want 200 %q", resp.StatusCode, body, "hello, ann\n")
			}
		}
	}
	_ = c.Process.Signal(syscall.SIGINT)
	<-done
	if err := c.Wait(); err != nil {
		t.Errorf("toil dev after SIGINT: %v", err)
	}
	if t.Failed() || !strings.Contains(log.String(), " 1/1 ready") {
		t.Errorf("toil dev: want the service ready, answering, then stopped:\n%s", log.String())
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
// A hard link (or a copy), not a symlink: toil dev starts workers through
// its own executable as a shim, and os.Executable resolves symlinks to the
// test binary's own name.
func toilBinary(t *testing.T) string {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(t.TempDir(), "toil")
	if err := os.Link(exe, link); err == nil {
		return link
	}
	data, err := os.ReadFile(exe)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(link, data, 0o755); err != nil {
		t.Fatal(err)
	}
	return link
}
