// Package build benchmarks toil dev's builder (devloop/build) against a
// plain go build of the same one-line change: see README.md for the
// command and the recorded results.
package build

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/toilhq/toil/devloop/build"
	"github.com/toilhq/toil/internal/runner"
	"github.com/toilhq/toil/layout"
)

// files is the sample: web, a toil HTTP service (struct, handler) using a
// package of the module; plain, a net/http main reading PORT; and
// cmd/web, the main a user would write for web by hand, which is what the
// generated main is, so `go build ./cmd/web` builds exactly what the
// builder builds for web.
var files = map[string]string{
	"toil.yaml": `name: app
services:
  web: {run: web.web, listen: auto}
  plain: {main: ./plain, listen: auto}
`,
	"web/web.go": `package web

import (
	"fmt"
	"net/http"

	"example.com/app/lib"
	"github.com/toilhq/toil"
)

// Web answers with a greeting.
type Web struct {
	toil.Base[struct{}]
}

// Handler is served on the service's socket.
func (w *Web) Handler() http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(rw, lib.Greeting(), "EDIT")
	})
}
`,
	"lib/lib.go": `package lib

// Greeting is what web says.
func Greeting() string { return "hello" }
`,
	"plain/main.go": `package main

import (
	"fmt"
	"net/http"
	"os"
)

func main() {
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "plain") })
	if err := http.ListenAndServe("127.0.0.1:"+os.Getenv("PORT"), nil); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
`,
	"cmd/web/main.go": `package main

import (
	toil "github.com/toilhq/toil"
	service "example.com/app/web"
)

func main() {
	toil.Main("web", &service.Web{})
}
`,
}

// env is the go command's environment: module cache only, never the
// network, and no GOFLAGS from the environment (the go env file's still
// apply; the plain variants set -buildvcs explicitly).
func env() []string {
	return append(os.Environ(), "GOPROXY=off", "GOTOOLCHAIN=local", "GOFLAGS=")
}

func run(b *testing.B, dir string, env []string, name string, args ...string) {
	b.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir, cmd.Env = dir, env
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}

// module writes the sample into a new git repository (so a plain go build
// stamps VCS information, as it does in a real project) and returns its
// directory.
func module(b *testing.B, gomod, gosum string) string {
	b.Helper()
	dir := b.TempDir()
	all := map[string]string{"go.mod": gomod, "go.sum": gosum}
	for k, v := range files {
		all[k] = v
	}
	for name, data := range all {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	git := append(env(), "GIT_AUTHOR_NAME=b", "GIT_AUTHOR_EMAIL=b@example.com", "GIT_COMMITTER_NAME=b", "GIT_COMMITTER_EMAIL=b@example.com")
	run(b, dir, git, "git", "init", "-q")
	run(b, dir, git, "git", "add", ".")
	run(b, dir, git, "git", "commit", "-q", "-m", "sample")
	return dir
}

// tidy makes go.mod and go.sum for the sample, requiring this checkout.
func tidy(b *testing.B) (gomod, gosum string) {
	b.Helper()
	src, err := filepath.Abs("../../..")
	if err != nil {
		b.Fatal(err)
	}
	dir := module(b, "module example.com/app\n\ngo 1.26\n\nrequire github.com/toilhq/toil v0.0.0\n\nreplace github.com/toilhq/toil => "+src+"\n", "")
	run(b, dir, append(env(), "GOFLAGS=-mod=mod"), "go", "mod", "tidy")
	m, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil {
		b.Fatal(err)
	}
	s, err := os.ReadFile(filepath.Join(dir, "go.sum"))
	if err != nil {
		b.Fatal(err)
	}
	return string(m), string(s)
}

// edit makes the one-line change: a new string in web's handler.
func edit(b *testing.B, dir, tag string) {
	b.Helper()
	p := filepath.Join(dir, "web", "web.go")
	src := strings.Replace(files["web/web.go"], `"EDIT"`, fmt.Sprintf("%q", tag), 1)
	if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
		b.Fatal(err)
	}
}

// childCPU is the user+system time of reaped children so far: the go
// command and every compiler and linker it ran.
func childCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_CHILDREN, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// phases is where one go build's time went, from -debug-actiongraph:
// compile and link are the wall time of those steps (compiles summed),
// exec the span from the first step's start to the last one's end.
type phases struct{ compile, link, exec time.Duration }

func readGraph(b *testing.B, file string) phases {
	b.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		b.Fatal(err)
	}
	var actions []struct {
		Mode                string
		Cmd                 []string
		TimeStart, TimeDone time.Time
	}
	if err := json.Unmarshal(data, &actions); err != nil {
		b.Fatal(err)
	}
	var p phases
	var first, last time.Time
	for _, a := range actions {
		if len(a.Cmd) == 0 || a.TimeStart.IsZero() {
			continue // up to date: nothing ran
		}
		d := a.TimeDone.Sub(a.TimeStart)
		switch a.Mode {
		case "build":
			p.compile += d
		case "link":
			p.link += d
		}
		if first.IsZero() || a.TimeStart.Before(first) {
			first = a.TimeStart
		}
		if a.TimeDone.After(last) {
			last = a.TimeDone
		}
	}
	p.exec = last.Sub(first)
	return p
}

// sample is one measured build.
type sample struct {
	wall, cpu  time.Duration
	goWall     time.Duration // the go command's own wall time
	ph         phases
	hasPhases  bool
	goCommands int
}

type series map[string][]sample

func median(xs []time.Duration) time.Duration {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

func (s series) med(name string, f func(sample) time.Duration) time.Duration {
	var xs []time.Duration
	for _, x := range s[name] {
		xs = append(xs, f(x))
	}
	return median(xs)
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// BenchmarkOneLineChange times the rebuild after a one-line change to a
// toil service, every way side by side, in one run: each iteration makes
// the change once per variant (each in its own copy of the sample, so
// stages and edits do not mix) and times it.
func BenchmarkOneLineChange(b *testing.B) {
	gomod, gosum := tidy(b)
	graphs := b.TempDir()
	type builderVariant struct {
		name string
		opts build.Options
	}
	builders := []builderVariant{
		{"builder", build.Options{}},
		{"builder-dwarf", build.Options{Debug: true}},
		{"builder-all", build.Options{All: true}},
	}
	dirs := map[string]string{}
	bs := map[string]*build.Builder{}
	for _, v := range builders {
		dir := module(b, gomod, gosum)
		mod, err := runner.FindModule(dir)
		if err != nil {
			b.Fatal(err)
		}
		lay, err := layout.Load(filepath.Join(dir, "toil.yaml"))
		if err != nil {
			b.Fatal(err)
		}
		v.opts.Env = env()
		v.opts.Flags = []string{"-debug-actiongraph=" + filepath.Join(graphs, v.name+".json")}
		bl, err := build.New(mod, lay, v.opts)
		if err != nil {
			b.Fatal(err)
		}
		res, err := bl.Build(context.Background(), build.Reason{})
		if err != nil || res.Failed() {
			b.Fatalf("first build: %v\n%s", err, res.Output)
		}
		dirs[v.name], bs[v.name] = dir, bl
	}
	// go-build is what a user runs (the go env file here sets
	// -buildvcs=false, so the default is spelled out); go-build-devflags
	// adds the builder's flags to it, without the builder.
	plains := []struct {
		name  string
		flags []string
	}{
		{"go-build", []string{"-buildvcs=auto"}},
		{"go-build-devflags", []string{"-buildvcs=false", "-ldflags=-s -w"}},
	}
	plainArgs := func(name string, flags []string) []string {
		args := append([]string{"build", "-debug-actiongraph=" + filepath.Join(graphs, name+".json")}, flags...)
		return append(args, "-o", "tmp/web", "./cmd/web")
	}
	for _, p := range plains {
		dirs[p.name] = module(b, gomod, gosum)
		run(b, dirs[p.name], env(), "go", plainArgs(p.name, p.flags)...)
	}

	s := series{}
	timePlain := func(key, name string, flags []string) {
		cmd := exec.Command("go", plainArgs(name, flags)...)
		cmd.Dir, cmd.Env = dirs[name], env()
		cpu0, t0 := childCPU(), time.Now()
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("go build: %v\n%s", err, out)
		}
		wall := time.Since(t0)
		s[key] = append(s[key], sample{wall: wall, cpu: childCPU() - cpu0, goWall: wall,
			ph: readGraph(b, filepath.Join(graphs, name+".json")), hasPhases: true, goCommands: 1})
	}
	timeBuilder := func(key, name string, files ...string) {
		cpu0, t0 := childCPU(), time.Now()
		res, err := bs[name].Build(context.Background(), build.Reason{Files: files})
		wall := time.Since(t0)
		if err != nil || res.Failed() {
			b.Fatalf("%s: %v\n%s", name, err, res.Output)
		}
		x := sample{wall: wall, cpu: childCPU() - cpu0, goCommands: len(res.Commands)}
		for _, c := range res.Commands {
			x.goWall += c.Duration
		}
		if len(res.Commands) > 0 {
			x.ph, x.hasPhases = readGraph(b, filepath.Join(graphs, name+".json")), true
		}
		if len(files) > 0 && strings.HasSuffix(files[0], "web.go") && !slices.Contains(res.Changed(), "web") {
			b.Fatalf("%s: web not changed after an edit: %+v", name, res.Services)
		}
		s[key] = append(s[key], x)
	}

	b.ResetTimer()
	for i := range b.N {
		tag := fmt.Sprintf("%d-%d", time.Now().UnixNano(), i)
		for _, p := range plains {
			edit(b, dirs[p.name], p.name+tag)
			timePlain(p.name, p.name, p.flags)
		}
		for _, v := range builders {
			edit(b, dirs[v.name], v.name+tag)
			timeBuilder(v.name, v.name, filepath.Join(dirs[v.name], "web", "web.go"))
		}
		// What a save costs when it changes no binary: a plain go build
		// with nothing to do (its fixed cost), and the builder after a
		// change to a test file (no go command at all).
		timePlain("go-build-noop", "go-build", plains[0].flags)
		test := filepath.Join(dirs["builder"], "web", "web_test.go")
		if err := os.WriteFile(test, []byte("package web\n// "+tag+"\n"), 0o644); err != nil {
			b.Fatal(err)
		}
		timeBuilder("builder-testfile", "builder", test)
	}
	b.StopTimer()

	wall := func(x sample) time.Duration { return x.wall }
	cpu := func(x sample) time.Duration { return x.cpu }
	order := []string{"go-build", "go-build-devflags", "builder", "builder-dwarf", "builder-all", "go-build-noop", "builder-testfile"}
	for _, name := range order {
		b.ReportMetric(ms(s.med(name, wall)), name+"-ms")
	}
	base := s.med("go-build", wall)
	b.ReportMetric(float64(s.med("builder", wall))/float64(base), "builder/go-build")
	var t strings.Builder
	fmt.Fprintf(&t, "\nmedians over %d edits (ms)\n", b.N)
	fmt.Fprintf(&t, "%-18s %7s %7s %8s %8s %8s %8s %6s\n", "variant", "wall", "cpu", "go cmd", "compile", "link", "go-load", "other")
	for _, name := range order {
		x := s[name]
		if len(x) == 0 {
			continue
		}
		comp := s.med(name, func(x sample) time.Duration { return x.ph.compile })
		link := s.med(name, func(x sample) time.Duration { return x.ph.link })
		load := s.med(name, func(x sample) time.Duration {
			if !x.hasPhases {
				return 0
			}
			return x.goWall - x.ph.exec
		})
		other := s.med(name, func(x sample) time.Duration { return x.wall - x.goWall })
		fmt.Fprintf(&t, "%-18s %7.0f %7.0f %8.0f %8.0f %8.0f %8.0f %6.0f\n", name, ms(s.med(name, wall)), ms(s.med(name, cpu)),
			ms(s.med(name, func(x sample) time.Duration { return x.goWall })), ms(comp), ms(link), ms(load), ms(other))
	}
	b.Log(t.String())
}
