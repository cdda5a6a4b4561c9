package build

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/toilhq/toil/internal/runner"
)

// prepare reads the go environment once, and readies .toil/dev for a
// build: its directories, and no work directory left by a killed build.
func (b *Builder) prepare(ctx context.Context) error {
	if !b.haveEnv {
		out, code, err := b.runGo(ctx, []string{"env", "-json", "GOFLAGS", "GOROOT", "GOMODCACHE", "GOEXE"}, false)
		if err != nil {
			return err
		}
		if code != 0 {
			return fmt.Errorf("go env: exit status %d: %s", code, bytes.TrimSpace(out))
		}
		if err := json.Unmarshal(out, &b.goenv); err != nil {
			return fmt.Errorf("read go env: %w", err)
		}
		goflags, err := splitQuoted(b.goenv.GOFLAGS)
		if err != nil {
			return fmt.Errorf("GOFLAGS=%q: %w; fix its quoting", b.goenv.GOFLAGS, err)
		}
		b.ldflags, b.flags = devLDFlags(goflags, b.opts.Flags, b.opts.Debug)
		b.haveEnv = true
	}
	for _, d := range []string{"tmp", "gen", "bin"} {
		if err := os.MkdirAll(filepath.Join(b.dir, d), 0o755); err != nil {
			return fmt.Errorf("make build dir: %w", err)
		}
	}
	for g := range b.groups {
		if err := os.MkdirAll(b.stage(g), 0o755); err != nil {
			return fmt.Errorf("make build dir: %w", err)
		}
	}
	// Binaries, however small the project, are no business of git's.
	if gi := filepath.Join(b.dir, ".gitignore"); !exists(gi) {
		_ = os.WriteFile(gi, []byte("# toil dev's builds: binaries and generated mains.\n*\n"), 0o644)
	}
	ents, _ := os.ReadDir(filepath.Join(b.dir, "tmp"))
	for _, e := range ents {
		_ = os.RemoveAll(filepath.Join(b.dir, "tmp", e.Name()))
	}
	return nil
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func (b *Builder) stage(g int) string { return filepath.Join(b.dir, "stage", fmt.Sprint(g)) }

// mainImportPath is the import path of a run: service's generated main.
func (b *Builder) mainImportPath(s *service) string {
	rel, _ := filepath.Rel(b.mod.Root, s.pattern)
	return b.mod.Path + "/" + filepath.ToSlash(rel)
}

// buildable reports whether the go command can be given s: a run: service
// must have been found first.
func (b *Builder) buildable(s *service) bool { return s.run == "" || s.svc != nil }

// find locates and discovers the run: services among svcs that are not
// found yet (all of them when again is set), and returns the names of
// those whose generated main changed. Problems are the services' own
// (findErr), shown as their build output; only the context's error ends
// the build.
func (b *Builder) find(ctx context.Context, svcs []*service, again bool) (map[string]bool, error) {
	var todo []*service
	for _, s := range svcs {
		if s.run != "" && (again || s.svc == nil) {
			todo = append(todo, s)
		}
	}
	if len(todo) == 0 {
		return nil, nil
	}
	var (
		mu    sync.Mutex
		found = map[string]bool{}
		wg    sync.WaitGroup
		sem   = make(chan struct{}, runtime.GOMAXPROCS(0))
	)
	for _, s := range todo {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			svc, err := b.discover(ctx, s)
			if ctx.Err() != nil {
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				s.svc, s.findErr = nil, err
				return
			}
			if s.svc == nil || *s.svc != *svc {
				found[s.name] = true
			}
			s.svc, s.findErr = svc, nil
		})
	}
	wg.Wait()
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	return found, nil
}

// discover finds a run: service's package and the service in it, the way
// toil run does.
func (b *Builder) discover(ctx context.Context, s *service) (*runner.Service, error) {
	where := fmt.Sprintf("%s:%d: service %s (run: %s)", b.lay.File, s.ls.Pos.Line, s.name, s.run)
	if s.target == nil {
		t, err := runner.Locate(b.mod, b.lay.Dir, s.spec)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
		s.target = t
	}
	svc, err := runner.Discover(ctx, b.mod, s.target, s.spec, b.env)
	if be := (*runner.BuildError)(nil); errors.As(err, &be) {
		// The package does not compile: the compiler's words are the
		// message, as for any other build error.
		return nil, errors.New(strings.TrimRight(be.Output, "\n"))
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	return svc, nil
}

// writeOverlay writes the generated mains of the run: services found, and
// the overlay mapping them into the module, when they changed. It returns
// the overlay's path, or "" when there is no run: service to build.
func (b *Builder) writeOverlay() (string, error) {
	replace := map[string]string{}
	for _, s := range b.services {
		if s.svc == nil {
			continue
		}
		gen := *s.svc
		gen.Name = s.name // toil.Main's name: the layout's, as TOIL_SERVICE is
		file := filepath.Join(b.dir, "gen", s.name+".go")
		if err := writeIfChanged(file, runner.MainSource(gen)); err != nil {
			return "", err
		}
		replace[filepath.Join(s.pattern, "main.go")] = file
	}
	if len(replace) == 0 {
		return "", nil
	}
	data, err := json.MarshalIndent(map[string]any{"Replace": replace}, "", "\t")
	if err != nil {
		return "", err
	}
	file := filepath.Join(b.dir, "gen", "overlay.json")
	return file, writeIfChanged(file, data)
}

func writeIfChanged(path string, data []byte) error {
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, data) {
		return nil
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// listRoots are the packages go list starts from: each service's main, or
// for a run: service not found yet, its package, so a change to it is seen.
func (b *Builder) listRoots() []listRoot {
	var roots []listRoot
	for _, s := range b.services {
		switch {
		case s.run == "" || s.svc != nil:
			roots = append(roots, listRoot{s.name, s.pattern})
		case s.target != nil:
			roots = append(roots, listRoot{s.name, s.target.Pattern})
		}
	}
	return roots
}

// groupOut is one go build and what it printed.
type groupOut struct {
	services []*service
	out      string
	code     int
}

// goBuild runs one go build per stage group that has services in targets,
// one after the other: they share the build cache, so a later one finds
// the earlier one's compiled packages. A service whose package could not
// be loaded last time is built on its own: the go command builds nothing
// at all when one of its packages cannot be loaded.
func (b *Builder) goBuild(ctx context.Context, res *Result, overlay string, targets map[string]bool) ([]groupOut, error) {
	var outs []groupOut
	add := func(o groupOut) {
		outs = append(outs, o)
		res.Output += o.out
		if o.code != 0 && res.ExitCode == 0 {
			res.ExitCode = o.code
		}
	}
	for g := range b.groups {
		var together []*service
		var runs [][]*service
		for _, s := range b.services {
			switch {
			case s.group != g || !targets[s.name] || !b.buildable(s):
			case s.isolated:
				runs = append(runs, []*service{s})
			default:
				together = append(together, s)
			}
		}
		if len(together) > 0 {
			runs = append([][]*service{together}, runs...)
		}
		for _, svcs := range runs {
			o, err := b.goBuildOne(ctx, res, g, overlay, svcs)
			if err != nil {
				return nil, err
			}
			if len(svcs) == 1 {
				svcs[0].isolated = o.code != 0 && loadFailure(o.out)
			}
			if len(svcs) == 1 || o.code == 0 || !loadFailure(o.out) {
				add(o)
				continue
			}
			// Whose package is it? Building each on its own says, and
			// builds the others.
			for _, s := range svcs {
				o, err := b.goBuildOne(ctx, res, g, overlay, []*service{s})
				if err != nil {
					return nil, err
				}
				s.isolated = o.code != 0 && loadFailure(o.out)
				add(o)
			}
		}
	}
	return outs, nil
}

// loadFailure reports whether a failed go build failed before compiling
// anything: its messages name no package.
func loadFailure(out string) bool {
	_, secs := splitOutput(out)
	return len(secs) == 0
}

// goBuildOne runs one go build of svcs into the stage of group g.
func (b *Builder) goBuildOne(ctx context.Context, res *Result, g int, overlay string, svcs []*service) (groupOut, error) {
	args := []string{"build", "-o", b.stage(g) + string(filepath.Separator), "-buildvcs=false"}
	args = append(args, b.ldflags...)
	if overlay != "" && slices.ContainsFunc(svcs, func(s *service) bool { return s.run != "" }) {
		args = append(args, "-overlay", overlay)
	}
	args = append(args, b.flags...)
	for _, s := range svcs {
		args = append(args, s.pattern)
	}
	start := time.Now()
	out, code, err := b.runGo(ctx, args, true)
	if err != nil {
		return groupOut{}, err
	}
	res.Commands = append(res.Commands, Command{Args: args, Duration: time.Since(start), ExitCode: code})
	return groupOut{services: svcs, out: string(out), code: code}, nil
}

// runGo runs the go command in the layout's directory (so messages name
// files as the user sees them) and returns its output and exit status; for
// go build that is stdout and stderr together, otherwise stdout alone, with
// stderr only on failure. On ctx's end it kills the command's whole process
// group and waits until it is gone.
func (b *Builder) runGo(ctx context.Context, args []string, build bool) ([]byte, int, error) {
	cmd := exec.Command("go", args...)
	cmd.Dir, cmd.Env = b.lay.Dir, b.env
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if build {
		cmd.Stderr = &out
	}
	cmd.SysProcAttr = groupAttr()
	// A descendant holding the output pipe open after the go command
	// exited must not hang the build.
	cmd.WaitDelay = 5 * time.Second
	if err := ctx.Err(); err != nil {
		return nil, 0, err
	}
	if err := cmd.Start(); err != nil {
		return nil, 0, fmt.Errorf("run go %s: %w", args[0], err)
	}
	if build && b.opts.OnStart != nil {
		b.opts.OnStart(cmd.Process.Pid, args)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-ctx.Done():
		killGroup(cmd.Process.Pid)
		<-done
		groupGone(cmd.Process.Pid, 5*time.Second)
		return nil, 0, ctx.Err()
	}
	var ee *exec.ExitError
	switch {
	case err == nil:
		return out.Bytes(), 0, nil
	case errors.As(err, &ee):
		if !build {
			out.Write(stderr.Bytes())
		}
		code := ee.ExitCode()
		if !ee.Exited() {
			// Killed by someone else (the OOM killer, a user): a failed
			// build like any other, which the next save retries.
			fmt.Fprintf(&out, "go %s: %v\n", args[0], err)
			code = -1
		}
		return out.Bytes(), code, nil
	}
	return nil, 0, fmt.Errorf("go %s: %w", args[0], err)
}

// attribute says, for each service of outs that failed, what the go
// command said about it: the sections of the packages it is built from. A
// failure outside any package section (a package that cannot be loaded)
// stops the whole go build, so it is every service's.
func (b *Builder) attribute(targets map[string]bool, outs []groupOut) map[string]string {
	failed := map[string]string{}
	for _, o := range outs {
		if o.code == 0 {
			continue
		}
		head, secs := splitOutput(o.out)
		for _, s := range o.services {
			if !targets[s.name] {
				continue
			}
			var deps map[string]bool
			if b.idx != nil {
				deps = b.idx.deps[s.name]
			}
			var msg strings.Builder
			for _, sec := range secs {
				if deps == nil || deps[sec.pkg] {
					msg.WriteString(sec.text)
				}
			}
			switch {
			case msg.Len() > 0:
				failed[s.name] = head + msg.String()
			case len(secs) == 0:
				failed[s.name] = o.out
			}
		}
	}
	return failed
}

// collect looks at a built service's staged binary and, when it differs
// from the service's current one, gives it a path of its own. msg says
// why a successful go build left no binary.
func (b *Builder) collect(s *service) (changed bool, msg string, err error) {
	staged := filepath.Join(b.stage(s.group), s.execName+b.goenv.GOEXE)
	if _, err := os.Stat(staged); errors.Is(err, fs.ErrNotExist) {
		// go build -o dir/ skips packages that are not main packages.
		return false, fmt.Sprintf("%s:%d: service %s: main: %s is not a main package (go build made no binary of it); point main: at a directory holding package main\n",
			b.lay.File, s.ls.Pos.Line, s.name, s.ls.Main), nil
	}
	dir := filepath.Join(b.dir, "bin", s.name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return false, "", fmt.Errorf("make build dir: %w", err)
	}
	// A hard link holds the staged binary as it is now: the id read from
	// it names exactly what it holds, whatever replaces the staged file.
	snap := filepath.Join(dir, ".new")
	if err := snapshot(staged, snap); err != nil {
		return false, "", err
	}
	id, err := binaryID(snap)
	if err != nil || id == s.id {
		_ = os.Remove(snap)
		return false, "", err
	}
	dst := filepath.Join(dir, s.name+"-"+id+b.goenv.GOEXE)
	if exists(dst) {
		// Built before: a path named by its content holds that content.
		_ = os.Remove(snap)
	} else if err := os.Rename(snap, dst); err != nil {
		return false, "", fmt.Errorf("place binary: %w", err)
	}
	now := time.Now()
	_ = os.Chtimes(dst, now, now) // recently used, for prune
	s.id, s.binary = id, dst
	b.prune(dir, dst)
	return true, "", nil
}

// snapshot hard-links staged to snap, or copies it where links do not
// work. The go command replaces a staged binary by renaming a new file
// over it or by removing it first, never by writing into it, so the link
// keeps this content.
func snapshot(staged, snap string) error {
	_ = os.Remove(snap)
	if os.Link(staged, snap) == nil {
		return nil
	}
	data, err := os.ReadFile(staged)
	if err == nil {
		err = os.WriteFile(snap, data, 0o755)
	}
	if err != nil {
		return fmt.Errorf("place binary: %w", err)
	}
	return nil
}

// prune keeps the service's current binary and its Keep most recent
// others: workers of an older generation may still run them, and a
// restart runs what the worker ran.
func (b *Builder) prune(dir, current string) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	type bin struct {
		path string
		mod  time.Time
	}
	var bins []bin
	for _, e := range ents {
		p := filepath.Join(dir, e.Name())
		if fi, err := e.Info(); err == nil && p != current {
			bins = append(bins, bin{p, fi.ModTime()})
		}
	}
	sort.Slice(bins, func(i, j int) bool { return bins[i].mod.After(bins[j].mod) })
	for i, x := range bins {
		if i >= b.opts.Keep {
			_ = os.Remove(x.path)
		}
	}
}
