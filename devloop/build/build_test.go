//go:build unix

package build

import (
	"bufio"
	"context"
	"crypto/sha256"
	"debug/elf"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/toilhq/toil/internal/runner"
	"github.com/toilhq/toil/layout"
)

// toolexecEnv names the directory of a toolexec test's block file and fifo
// when the test binary is started as a -toolexec wrapper.
const toolexecEnv = "BUILD_TEST_TOOLEXEC"

// modFiles are go.mod and go.sum of a fixture module that requires this
// checkout of toil, made once by go mod tidy.
var modFiles map[string]string

func TestMain(m *testing.M) {
	if dir := os.Getenv(toolexecEnv); dir != "" {
		os.Exit(toolexec(dir, os.Args[1:]))
	}
	if err := tidyFixture(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}

// testEnv is the go command's environment in every test: the module cache
// only, never the network.
func testEnv(extra ...string) []string {
	env := append(os.Environ(), "GOPROXY=off", "GOTOOLCHAIN=local", "GOFLAGS=")
	return append(env, extra...)
}

func tidyFixture() error {
	src, err := filepath.Abs("../..")
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "build-test-mod-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	files := map[string]string{
		"go.mod":     "module example.com/app\n\ngo 1.26\n\nrequire github.com/toilhq/toil v0.0.0\n\nreplace github.com/toilhq/toil => " + src + "\n",
		"web/web.go": fixtureFiles["web/web.go"],
		"lib/lib.go": fixtureFiles["lib/lib.go"],
	}
	for name, data := range files {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			return err
		}
	}
	cmd := exec.Command("go", "mod", "tidy")
	cmd.Dir, cmd.Env = dir, testEnv("GOFLAGS=-mod=mod")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go mod tidy for the fixture: %v\n%s", err, out)
	}
	modFiles = map[string]string{}
	for _, name := range []string{"go.mod", "go.sum"} {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return err
		}
		modFiles[name] = string(data)
	}
	return nil
}

// toolexec is the test binary run as go build's -toolexec wrapper: it runs
// each tool as asked, except that the first link after a test creates the
// "block" file announces its pid on the fifo and hangs, so a test holds a
// go build in flight for as long as it likes.
func toolexec(dir string, args []string) int {
	tool := args[0]
	if strings.TrimSuffix(filepath.Base(tool), ".exe") == "link" && !slices.Contains(args, "-V=full") &&
		os.Remove(filepath.Join(dir, "block")) == nil {
		f, err := os.OpenFile(filepath.Join(dir, "fifo"), os.O_WRONLY, 0)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 3
		}
		fmt.Fprintf(f, "%d\n", os.Getpid())
		f.Close()
		time.Sleep(time.Hour) // until the build is killed
		return 4
	}
	if err := syscall.Exec(tool, args, os.Environ()); err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
	return 5
}

// fixtureFiles is a module with a toil service (web, a func service that
// prints its version, via the package lib) and a plain main package.
var fixtureFiles = map[string]string{
	"toil.yaml": `name: app
services:
  web: {run: web.web}
  plain: {main: ./plain}
`,
	"web/web.go": `package web

import (
	"context"
	"fmt"

	"example.com/app/lib"
	"github.com/toilhq/toil"
)

// Web prints its version and ends.
func Web(ctx context.Context, s *toil.S) error {
	fmt.Println("web", lib.Version())
	return nil
}
`,
	"lib/lib.go": `package lib

// Version is what web prints.
func Version() string { return "v1" }
`,
	"plain/main.go": `package main

import "fmt"

func main() { fmt.Println("plain v1") }
`,
}

type fixture struct {
	t    *testing.T
	root string
	mod  *runner.Module
	lay  *layout.Layout
}

// newFixture writes fixtureFiles, with over over them ("" removes a file),
// into a new module.
func newFixture(t *testing.T, over map[string]string) *fixture {
	t.Helper()
	f := &fixture{t: t, root: t.TempDir()}
	for name, data := range modFiles {
		f.write(name, data)
	}
	for name, data := range fixtureFiles {
		if _, ok := over[name]; !ok {
			f.write(name, data)
		}
	}
	for name, data := range over {
		if data != "" {
			f.write(name, data)
		}
	}
	var err error
	if f.mod, err = runner.FindModule(f.root); err != nil {
		t.Fatal(err)
	}
	if f.lay, err = layout.Load(f.path("toil.yaml")); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) path(rel string) string { return filepath.Join(f.root, filepath.FromSlash(rel)) }

func (f *fixture) write(rel, data string) {
	f.t.Helper()
	p := f.path(rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		f.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
		f.t.Fatal(err)
	}
}

// replace edits a file of the fixture.
func (f *fixture) replace(rel, old, new string) {
	f.t.Helper()
	data, err := os.ReadFile(f.path(rel))
	if err != nil {
		f.t.Fatal(err)
	}
	if !strings.Contains(string(data), old) {
		f.t.Fatalf("%s has no %q", rel, old)
	}
	f.write(rel, strings.Replace(string(data), old, new, 1))
}

func (f *fixture) builder(opts Options) *Builder {
	f.t.Helper()
	if opts.Env == nil {
		opts.Env = testEnv()
	}
	b, err := New(f.mod, f.lay, opts)
	if err != nil {
		f.t.Fatal(err)
	}
	return b
}

// build builds after a change to the files rel (none: everything).
func (f *fixture) build(b *Builder, rel ...string) *Result {
	f.t.Helper()
	var r Reason
	for _, p := range rel {
		r.Files = append(r.Files, f.path(p))
	}
	res, err := b.Build(context.Background(), r)
	if err != nil {
		f.t.Fatal(err)
	}
	return res
}

// want checks each service's state: want maps name to state.
func want(t *testing.T, res *Result, states map[string]State) {
	t.Helper()
	for name, st := range states {
		s := res.Service(name)
		if s == nil {
			t.Fatalf("no service %s in the result", name)
		}
		if s.State != st {
			t.Errorf("%s: %s, want %s; output:\n%s\n(go build output:\n%s)", name, s.State, st, s.Output, res.Output)
		}
	}
}

// output runs a built binary (both fixtures print and end) and returns
// its first line.
func output(t *testing.T, bin string) string {
	t.Helper()
	if bin == "" {
		t.Fatal("no binary")
	}
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), "NO_COLOR=1")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("run %s: %v\n%s", bin, err, out)
	}
	line, _, _ := strings.Cut(string(out), "\n")
	return line
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func sum(t *testing.T, path string) [32]byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(data)
}

// A run: and a main: service build in one go command; a change rebuilds
// and rolls only the service built from it; files no binary is built from
// start no go command; and no binary is ever written twice.
func TestBuildOnlyWhatChanged(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	b := f.builder(Options{Keep: 100})
	made := map[string][32]byte{} // every binary a build reported, with its content then
	record := func(res *Result) {
		for _, s := range res.Services {
			if s.State == Changed {
				if _, ok := made[s.Binary]; ok {
					t.Errorf("%s: binary %s reported as new twice", s.Name, s.Binary)
				}
				made[s.Binary] = sum(t, s.Binary)
			}
		}
	}

	res := f.build(b)
	record(res)
	want(t, res, map[string]State{"web": Changed, "plain": Changed})
	if len(res.Commands) != 1 {
		t.Fatalf("ran %d go commands, want one for both services: %v", len(res.Commands), res.Commands)
	}
	if got := output(t, res.Service("web").Binary); got != "web v1" {
		t.Errorf("web says %q", got)
	}
	if got := output(t, res.Service("plain").Binary); got != "plain v1" {
		t.Errorf("plain says %q", got)
	}
	for _, s := range res.Services {
		if !strings.HasPrefix(s.Binary, f.path(".toil/dev/bin")+string(filepath.Separator)) {
			t.Errorf("%s: binary %s, want it under .toil/dev/bin", s.Name, s.Binary)
		}
	}
	web1, plain1 := res.Service("web").Binary, res.Service("plain").Binary

	// Everything again, nothing changed: same binaries.
	res = f.build(b)
	want(t, res, map[string]State{"web": Unchanged, "plain": Unchanged})
	if res.Service("web").Binary != web1 || res.Service("plain").Binary != plain1 {
		t.Errorf("unchanged build moved the binaries: %v", res.Binaries())
	}

	// plain alone: web is not even given to the go command.
	f.replace("plain/main.go", "plain v1", "plain v2")
	res = f.build(b, "plain/main.go")
	record(res)
	want(t, res, map[string]State{"web": Unchanged, "plain": Changed})
	if res.Service("web").Built || len(res.Commands) != 1 || slices.Contains(res.Commands[0].Args, f.path(".toil/dev/main/web")) {
		t.Errorf("web was built for a change to plain: %v", res.Commands)
	}
	if got := output(t, res.Service("plain").Binary); got != "plain v2" {
		t.Errorf("plain says %q after the edit", got)
	}
	if p := res.Service("plain"); p.Previous != plain1 || p.Binary == plain1 {
		t.Errorf("plain: previous %s, binary %s; want previous %s and a new path", p.Previous, p.Binary, plain1)
	}
	if got := output(t, plain1); got != "plain v1" {
		t.Errorf("the previous plain binary says %q now, want plain v1: it was overwritten", got)
	}

	// lib is web's alone.
	f.replace("lib/lib.go", `"v1"`, `"v2"`)
	res = f.build(b, "lib/lib.go")
	record(res)
	want(t, res, map[string]State{"web": Changed, "plain": Unchanged})
	if res.Service("plain").Built {
		t.Errorf("plain was built for a change to lib: %v", res.Commands)
	}
	if got := output(t, res.Service("web").Binary); got != "web v2" {
		t.Errorf("web says %q after the edit", got)
	}

	// A test file, a README, a package nobody imports: no go build at all.
	f.write("lib/lib_test.go", "package lib\n\nimport \"testing\"\n\nfunc TestV(t *testing.T) {}\n")
	f.write("web/README.md", "# web\n")
	f.write("tools/gen/gen.go", "package main\n\nfunc main() {}\n")
	res = f.build(b, "lib/lib_test.go", "web/README.md", "tools/gen/gen.go")
	want(t, res, map[string]State{"web": Unchanged, "plain": Unchanged})
	if len(res.Commands) != 0 {
		t.Errorf("ran %v for files no binary is built from", res.Commands)
	}

	for path, was := range made {
		if sum(t, path) != was {
			t.Errorf("%s was overwritten", path)
		}
	}
}

// An edit that compiles to the same code leaves the binary as it was:
// nothing to roll.
func TestCommentOnlyChange(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	b := f.builder(Options{})
	first := f.build(b)
	want(t, first, map[string]State{"web": Changed, "plain": Changed})

	// A comment on a line of its own shifts every line below it.
	f.replace("lib/lib.go", "// Version is what web prints.", "// Version is what web prints,\n// on one line.")
	res := f.build(b, "lib/lib.go")
	t.Logf("a comment line added above the function: web %s", res.Service("web").State)
	if !res.Service("web").Built {
		t.Fatalf("web was not built after a change to lib")
	}

	// A comment on the line the function is on moves nothing.
	f.replace("lib/lib.go", `return "v1" }`, `return "v1" } // still v1`)
	res = f.build(b, "lib/lib.go")
	t.Logf("a comment at the end of an existing line: web %s", res.Service("web").State)
	want(t, res, map[string]State{"web": Unchanged, "plain": Unchanged})

	// A comment line above code that is in the binary moves its line
	// numbers, which panics and profiles show.
	f.replace("web/web.go", "// Web prints its version and ends.", "// Web prints its version\n// and ends.")
	res = f.build(b, "web/web.go")
	t.Logf("a comment line added above web.Web: web %s", res.Service("web").State)
}

// A compile error fails the services built from the broken package, with
// the compiler's message; their previous binaries stay; the others build,
// in the same go command. Fixing it builds again.
func TestCompileError(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	b := f.builder(Options{})
	first := f.build(b)
	web1 := first.Service("web").Binary
	web1sum := sum(t, web1)

	f.replace("lib/lib.go", `return "v1" }`, `return "v2 }`)
	f.replace("plain/main.go", "plain v1", "plain v2")
	res := f.build(b, "lib/lib.go", "plain/main.go")
	want(t, res, map[string]State{"web": Failed, "plain": Changed})
	if len(res.Commands) != 1 {
		t.Errorf("ran %d go commands, want 1", len(res.Commands))
	}
	web := res.Service("web")
	if !strings.Contains(web.Output, "lib/lib.go:4:") || !strings.Contains(web.Output, "# example.com/app/lib") {
		t.Errorf("web's output does not show the compiler's message about lib/lib.go:4:\n%s", web.Output)
	}
	if res.ExitCode == 0 || !res.Failed() || !strings.Contains(res.Output, "lib/lib.go:4:") {
		t.Errorf("result: exit code %d, failed %v, output:\n%s", res.ExitCode, res.Failed(), res.Output)
	}
	if web.Binary != web1 || sum(t, web1) != web1sum || output(t, web1) != "web v1" {
		t.Errorf("web's binary after a failed build: %s, want the old one, untouched", web.Binary)
	}
	if got := output(t, res.Service("plain").Binary); got != "plain v2" {
		t.Errorf("plain says %q", got)
	}

	// web stays failed while lib is broken, whatever else changes.
	f.replace("plain/main.go", "plain v2", "plain v3")
	res = f.build(b, "plain/main.go")
	want(t, res, map[string]State{"web": Failed, "plain": Changed})
	if !res.Service("web").Built {
		t.Errorf("failed web was not built again")
	}

	f.replace("lib/lib.go", `return "v2 }`, `return "v2" }`)
	res = f.build(b, "lib/lib.go")
	want(t, res, map[string]State{"web": Changed, "plain": Unchanged})
	if got := output(t, res.Service("web").Binary); got != "web v2" {
		t.Errorf("web says %q after the fix", got)
	}
	if res.Service("web").Previous != web1 {
		t.Errorf("web's previous binary %s, want %s", res.Service("web").Previous, web1)
	}
}

// hold keeps a go build in flight: its builders run the linker through
// this test binary (-toolexec), which hangs on the first link after block.
type hold struct {
	t    *testing.T
	dir  string
	pids chan int // of each go build started
}

func newHold(t *testing.T) *hold {
	t.Helper()
	h := &hold{t: t, dir: t.TempDir(), pids: make(chan int, 10)}
	if err := syscall.Mkfifo(filepath.Join(h.dir, "fifo"), 0o600); err != nil {
		t.Fatal(err)
	}
	return h
}

func (h *hold) options() Options {
	self, err := os.Executable()
	if err != nil {
		h.t.Fatal(err)
	}
	return Options{
		Env:     testEnv(toolexecEnv + "=" + h.dir),
		Flags:   []string{"-toolexec=" + self},
		OnStart: func(pid int, _ []string) { h.pids <- pid },
	}
}

// block makes the next link hang.
func (h *hold) block() {
	if err := os.WriteFile(filepath.Join(h.dir, "block"), nil, 0o600); err != nil {
		h.t.Fatal(err)
	}
}

// linker waits until the link hangs and returns its pid.
func (h *hold) linker() int {
	fifo, err := os.Open(filepath.Join(h.dir, "fifo")) // until the wrapper opens it
	if err != nil {
		h.t.Fatal(err)
	}
	defer fifo.Close()
	line, err := bufio.NewReader(fifo).ReadString('\n')
	if err != nil {
		h.t.Fatal(err)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(line))
	return pid
}

type buildResult struct {
	res *Result
	err error
}

// A Build call while another runs cancels it: its go command and
// everything under it are killed, and the newer build builds the older
// one's files too.
func TestNewerBuildCancelsRunning(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	h := newHold(t)
	b := f.builder(h.options())
	f.build(b)
	<-h.pids

	h.block()
	f.replace("lib/lib.go", `"v1"`, `"v2"`)
	firstc := make(chan buildResult, 1)
	go func() {
		res, err := b.Build(context.Background(), Reason{Files: []string{f.path("lib/lib.go")}})
		firstc <- buildResult{res, err}
	}()
	goPID := <-h.pids
	linkPID := h.linker()

	// A second change, to the other service only.
	f.replace("plain/main.go", "plain v1", "plain v2")
	res, err := b.Build(context.Background(), Reason{Files: []string{f.path("plain/main.go")}})
	if err != nil {
		t.Fatal(err)
	}
	first := <-firstc
	if !errors.Is(first.err, ErrSuperseded) {
		t.Errorf("first build: %v, %v; want ErrSuperseded", first.res, first.err)
	}
	for _, pid := range []int{goPID, linkPID} {
		if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("process %d of the cancelled build is still there (kill 0: %v)", pid, err)
		}
	}
	if err := syscall.Kill(-goPID, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("the cancelled build's process group %d still has members (kill 0: %v)", goPID, err)
	}
	want(t, res, map[string]State{"web": Changed, "plain": Changed})
	if got := output(t, res.Service("web").Binary); got != "web v2" {
		t.Errorf("web says %q: the superseded build's change was lost", got)
	}
	if got := output(t, res.Service("plain").Binary); got != "plain v2" {
		t.Errorf("plain says %q", got)
	}
	if res.Seq != 3 {
		t.Errorf("Seq = %d, want 3", res.Seq)
	}
	if ents, _ := os.ReadDir(f.path(".toil/dev/tmp")); len(ents) != 0 {
		t.Errorf("the killed build left %d entries in .toil/dev/tmp", len(ents))
	}
}

// A run: service is found again when its generated main stops compiling:
// func to struct works, and a service that is gone says which there are.
func TestServiceChangesShape(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	b := f.builder(Options{})
	want(t, f.build(b), map[string]State{"web": Changed})

	f.write("web/web.go", `package web

import (
	"context"
	"fmt"

	"github.com/toilhq/toil"
)

// Web is a struct service now.
type Web struct {
	toil.Base[struct{}]
}

// Run prints and ends.
func (w *Web) Run(ctx context.Context) error {
	fmt.Println("web struct")
	return nil
}
`)
	res := f.build(b, "web/web.go")
	want(t, res, map[string]State{"web": Changed})
	if got := output(t, res.Service("web").Binary); got != "web struct" {
		t.Errorf("web says %q", got)
	}

	f.write("web/web.go", strings.NewReplacer("Web", "Site").Replace(readFile(t, f.path("web/web.go"))))
	res = f.build(b, "web/web.go")
	want(t, res, map[string]State{"web": Failed})
	if out := res.Service("web").Output; !strings.Contains(out, `no service "web"`) || !strings.Contains(out, "web.site") {
		t.Errorf("web's output does not say it is gone and what there is instead:\n%s", out)
	}
}

// Services that cannot be built say why, in their own result; the others
// build.
func TestServiceNotFound(t *testing.T) {
	t.Parallel()
	f := newFixture(t, map[string]string{"toil.yaml": `name: app
services:
  web: {run: web.web}
  typo: {run: wbe.web}
  notmain: {main: ./lib}
`})
	b := f.builder(Options{})
	res := f.build(b)
	want(t, res, map[string]State{"web": Changed, "typo": Failed, "notmain": Failed})
	if out := res.Service("typo").Output; !strings.Contains(out, "toil.yaml:4: service typo (run: wbe.web): no package wbe") {
		t.Errorf("typo's output:\n%s", out)
	}
	if out := res.Service("notmain").Output; !strings.Contains(out, "toil.yaml:5: service notmain: main: ./lib is not a main package") {
		t.Errorf("notmain's output:\n%s", out)
	}
}

// Embedded files are inputs of their package: an edit, or a new file a
// pattern matches, rebuilds; other files beside them do not.
func TestEmbeddedFiles(t *testing.T) {
	t.Parallel()
	f := newFixture(t, map[string]string{
		"lib/lib.go": `package lib

import (
	"embed"
	"fmt"
	"strings"
)

//go:embed static
var static embed.FS

// Version is what web prints.
func Version() string {
	ents, _ := static.ReadDir("static/v")
	data, _ := static.ReadFile("static/v/version.txt")
	return fmt.Sprint(strings.TrimSpace(string(data)), " ", len(ents))
}
`,
		"lib/static/v/version.txt": "v1\n",
	})
	b := f.builder(Options{})
	res := f.build(b)
	if got := output(t, res.Service("web").Binary); got != "web v1 1" {
		t.Fatalf("web says %q", got)
	}

	f.write("lib/static/v/version.txt", "v2\n")
	res = f.build(b, "lib/static/v/version.txt")
	want(t, res, map[string]State{"web": Changed, "plain": Unchanged})
	if got := output(t, res.Service("web").Binary); got != "web v2 1" {
		t.Errorf("web says %q after editing an embedded file", got)
	}

	f.write("lib/static/v/new.txt", "new\n")
	res = f.build(b, "lib/static/v/new.txt")
	want(t, res, map[string]State{"web": Changed})
	if got := output(t, res.Service("web").Binary); got != "web v2 2" {
		t.Errorf("web says %q after adding an embedded file", got)
	}

	f.write("lib/notes.txt", "not embedded\n")
	res = f.build(b, "lib/notes.txt")
	if len(res.Commands) != 0 {
		t.Errorf("ran %v for a file nothing embeds", res.Commands)
	}
}

// Only the newest Keep binaries of a service stay, besides the current.
func TestPrune(t *testing.T) {
	t.Parallel()
	f := newFixture(t, map[string]string{"toil.yaml": "name: app\nservices:\n  plain: {main: ./plain}\n"})
	b := f.builder(Options{Keep: 1})
	var bins []string
	for i := 1; i <= 3; i++ {
		if i > 1 {
			f.replace("plain/main.go", fmt.Sprintf("plain v%d", i-1), fmt.Sprintf("plain v%d", i))
		}
		res := f.build(b, "plain/main.go")
		want(t, res, map[string]State{"plain": Changed})
		bins = append(bins, res.Service("plain").Binary)
	}
	if exists(bins[0]) || !exists(bins[1]) || !exists(bins[2]) {
		t.Errorf("after 3 builds with Keep 1: %v exist: %v %v %v; want the last two", bins, exists(bins[0]), exists(bins[1]), exists(bins[2]))
	}
}

// Services whose binaries go build would give the same file name are built
// by separate go commands, each into a stage of its own.
func TestSameBinaryName(t *testing.T) {
	t.Parallel()
	f := newFixture(t, map[string]string{
		"toil.yaml": `name: app
services:
  server: {run: web.web}
  a: {main: ./a/server}
  b: {main: ./b/server}
`,
		"a/server/main.go": "package main\n\nimport \"fmt\"\n\nfunc main() { fmt.Println(\"a v1\") }\n",
		"b/server/main.go": "package main\n\nimport \"fmt\"\n\nfunc main() { fmt.Println(\"b v1\") }\n",
	})
	b := f.builder(Options{})
	res := f.build(b)
	want(t, res, map[string]State{"server": Changed, "a": Changed, "b": Changed})
	if len(res.Commands) != 3 {
		t.Errorf("ran %d go commands, want 3 (one per binary named server): %v", len(res.Commands), res.Commands)
	}
	for name, says := range map[string]string{"server": "web v1", "a": "a v1", "b": "b v1"} {
		if got := output(t, res.Service(name).Binary); got != says {
			t.Errorf("%s says %q, want %q", name, got, says)
		}
	}

	f.replace("b/server/main.go", "b v1", "b v2")
	res = f.build(b, "b/server/main.go")
	want(t, res, map[string]State{"server": Unchanged, "a": Unchanged, "b": Changed})
	if len(res.Commands) != 1 {
		t.Errorf("ran %d go commands, want 1: %v", len(res.Commands), res.Commands)
	}
	if got := output(t, res.Service("b").Binary); got != "b v2" {
		t.Errorf("b says %q", got)
	}
}

// A package imported for the first time is followed: a later change to it
// rebuilds the service that now imports it, and a go.mod change builds
// everything.
func TestNewImportFollowed(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	b := f.builder(Options{})
	f.build(b)

	f.write("extra/extra.go", "package extra\n\n// Suffix ends web's line.\nfunc Suffix() string { return \"+x1\" }\n")
	f.write("lib/lib.go", "package lib\n\nimport \"example.com/app/extra\"\n\n// Version is what web prints.\nfunc Version() string { return \"v1\" + extra.Suffix() }\n")
	res := f.build(b, "extra/extra.go", "lib/lib.go")
	want(t, res, map[string]State{"web": Changed, "plain": Unchanged})
	if got := output(t, res.Service("web").Binary); got != "web v1+x1" {
		t.Errorf("web says %q", got)
	}

	f.replace("extra/extra.go", "+x1", "+x2")
	res = f.build(b, "extra/extra.go")
	want(t, res, map[string]State{"web": Changed, "plain": Unchanged})
	if got := output(t, res.Service("web").Binary); got != "web v1+x2" {
		t.Errorf("web says %q after editing the newly imported package", got)
	}

	f.write("go.mod", readFile(t, f.path("go.mod"))+"\n// a comment\n")
	res = f.build(b, "go.mod")
	want(t, res, map[string]State{"web": Unchanged, "plain": Unchanged})
	if !res.Service("web").Built || !res.Service("plain").Built {
		t.Errorf("a go.mod change did not build every service: %v", res.Commands)
	}
}

// -ldflags from GOFLAGS still apply, with -s -w added: no DWARF, unless
// Options.Debug keeps it for a debugger.
func TestLinkerFlags(t *testing.T) {
	t.Parallel()
	over := map[string]string{
		"toil.yaml":     "name: app\nservices:\n  plain: {main: ./plain}\n",
		"plain/main.go": "package main\n\nimport \"fmt\"\n\nvar version = \"none\"\n\nfunc main() { fmt.Println(\"plain\", version) }\n",
	}
	for _, debug := range []bool{false, true} {
		f := newFixture(t, over)
		b := f.builder(Options{Env: testEnv("GOFLAGS=-ldflags=-X=main.version=goflags"), Debug: debug})
		res := f.build(b)
		bin := res.Service("plain").Binary
		if got := output(t, bin); got != "plain goflags" {
			t.Errorf("debug %v: plain says %q: GOFLAGS's -ldflags was lost", debug, got)
		}
		ef, err := elf.Open(bin)
		if err != nil {
			t.Fatal(err)
		}
		hasDWARF := ef.Section(".debug_info") != nil
		ef.Close()
		if hasDWARF != debug {
			t.Errorf("debug %v: binary has DWARF: %v", debug, hasDWARF)
		}
	}
}

// A package that cannot be loaded stops the go command before it builds
// anything; the other services still build, then and afterwards.
func TestLoadErrorHoldsNoOneBack(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	b := f.builder(Options{})
	f.build(b)

	f.replace("plain/main.go", `import "fmt"`, "import (\n\t\"fmt\"\n\n\t_ \"example.com/app/nope\"\n)")
	f.replace("lib/lib.go", `"v1"`, `"v2"`)
	res := f.build(b, "plain/main.go", "lib/lib.go")
	want(t, res, map[string]State{"web": Changed, "plain": Failed})
	if out := res.Service("plain").Output; !strings.Contains(out, "plain/main.go:6:2:") || !strings.Contains(out, "example.com/app/nope") {
		t.Errorf("plain's output does not say what cannot be loaded:\n%s", out)
	}
	if out := res.Service("web").Output; out != "" {
		t.Errorf("web has output:\n%s", out)
	}
	if got := output(t, res.Service("web").Binary); got != "web v2" {
		t.Errorf("web says %q", got)
	}

	// plain stays broken: web's next change is not held back, and plain
	// is built on its own.
	f.replace("lib/lib.go", `"v2"`, `"v3"`)
	res = f.build(b, "lib/lib.go")
	want(t, res, map[string]State{"web": Changed, "plain": Failed})
	if len(res.Commands) != 2 {
		t.Errorf("ran %d go commands, want 2 (web, and plain on its own): %v", len(res.Commands), res.Commands)
	}
	if got := output(t, res.Service("web").Binary); got != "web v3" {
		t.Errorf("web says %q", got)
	}

	f.replace("plain/main.go", "\t_ \"example.com/app/nope\"\n", "")
	f.replace("plain/main.go", "plain v1", "plain v2")
	res = f.build(b, "plain/main.go")
	want(t, res, map[string]State{"web": Unchanged, "plain": Changed})
	if got := output(t, res.Service("plain").Binary); got != "plain v2" {
		t.Errorf("plain says %q after the fix", got)
	}
}

// A change named through a symbolic link to the module (macOS's /var is
// /private/var; an editor may open a linked path) is still mapped to the
// service built from it.
func TestChangeThroughSymlink(t *testing.T) {
	t.Parallel()
	f := newFixture(t, map[string]string{"toil.yaml": "name: app\nservices:\n  plain: {main: ./plain}\n"})
	b := f.builder(Options{})
	f.build(b)
	link := filepath.Join(t.TempDir(), "link")
	if err := os.Symlink(f.root, link); err != nil {
		t.Fatal(err)
	}
	f.replace("plain/main.go", "plain v1", "plain v2")
	res, err := b.Build(context.Background(), Reason{Files: []string{filepath.Join(link, "plain", "main.go")}})
	if err != nil {
		t.Fatal(err)
	}
	want(t, res, map[string]State{"plain": Changed})
}

// A new Builder of the module (toil dev makes one after a toil.yaml
// change) takes over from the old one: its build supersedes the old
// one's, instead of both writing the same stage.
func TestBuildersOfOneModuleTakeTurns(t *testing.T) {
	t.Parallel()
	f := newFixture(t, map[string]string{"toil.yaml": "name: app\nservices:\n  plain: {main: ./plain}\n"})
	h := newHold(t)
	old := f.builder(h.options())
	h.block()
	firstc := make(chan buildResult, 1)
	go func() {
		res, err := old.Build(context.Background(), Reason{})
		firstc <- buildResult{res, err}
	}()
	<-h.pids
	linkPID := h.linker()

	res := f.build(f.builder(Options{}))
	want(t, res, map[string]State{"plain": Changed})
	if first := <-firstc; !errors.Is(first.err, ErrSuperseded) {
		t.Errorf("the old builder's build: %v, %v; want ErrSuperseded", first.res, first.err)
	}
	if err := syscall.Kill(linkPID, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("the old builder's linker %d is still there (kill 0: %v)", linkPID, err)
	}
	if got := output(t, res.Service("plain").Binary); got != "plain v1" {
		t.Errorf("plain says %q", got)
	}
}
