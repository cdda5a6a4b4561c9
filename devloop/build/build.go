package build

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/toilhq/toil/internal/runner"
	"github.com/toilhq/toil/layout"
)

// State is what a build did to one service's binary.
type State int

// The states of a service after a build.
const (
	// Unchanged: the binary is the same as before (or the service was not
	// built: nothing it is built from changed). Nothing to roll. After
	// Failed, it means the service builds again, to the binary it had.
	Unchanged State = iota
	// Changed: a new binary, at [ServiceResult.Binary]. Roll onto it.
	Changed
	// Failed: the service does not build; [ServiceResult.Output] says why
	// and its previous binary, if any, stays where it was.
	Failed
)

func (s State) String() string {
	switch s {
	case Unchanged:
		return "unchanged"
	case Changed:
		return "changed"
	case Failed:
		return "failed"
	}
	return fmt.Sprintf("State(%d)", int(s))
}

// ErrSuperseded is returned by a Build that a newer Build call cancelled.
// The newer one builds its files too.
var ErrSuperseded = errors.New("build superseded by a newer one")

// Reason says why a build runs.
type Reason struct {
	// Files are the files created, modified or removed since the last
	// Build: absolute, or relative to the layout's directory. Empty means
	// every service: the first build, or a caller that does not know what
	// changed.
	Files []string
}

// Options tune a [Builder]. The zero value is ready to use.
type Options struct {
	// Env is the go command's environment; os.Environ() when nil. GOFLAGS
	// in it (or in the go env file) applies to every build.
	Env []string
	// Flags are more go build flags, after toil's: -race, -tags=dev. An
	// -ldflags among them gets -s -w added unless Debug is set.
	Flags []string
	// Debug keeps DWARF and the symbol table in the binaries, for a
	// debugger, at the cost of a slower link.
	Debug bool
	// Keep is how many binaries each service keeps in .toil/dev/bin
	// besides its current one, for workers still running them and for
	// restarts of those; 3 when zero.
	Keep int
	// All builds every service on every change, not only those whose
	// inputs changed: an escape hatch, and a baseline for measuring.
	All bool
	// OnStart, when set, is called as each go build starts, with its
	// process id and arguments: a UI's "building" line, a -v log. It runs
	// on the building goroutine and must not block.
	OnStart func(pid int, args []string)
}

// ServiceResult is one service's part of a [Result].
type ServiceResult struct {
	Name  string
	State State
	// Binary is the service's current binary: the new one when Changed,
	// the previous one otherwise; "" while it has never built. Paths are
	// named by content (.toil/dev/bin/<name>/<name>-<id>) and never
	// rewritten, so two equal paths are two equal binaries.
	Binary string
	// Previous is the binary before this build, "" on the first.
	Previous string
	// Output is, when Failed, what the go command (or the search for the
	// service) said about this service: its packages' compiler messages.
	Output string
	// Built is true when the service was given to the go command this
	// time; false when nothing it is built from changed.
	Built bool
}

// Result is what one [Builder.Build] did.
type Result struct {
	// Seq counts the Build calls of a Builder from 1, superseded ones
	// included.
	Seq int
	// Services are in the order of the layout.
	Services []ServiceResult
	// Commands are the go builds run, in order. None when no service
	// needed building.
	Commands []Command
	// Output is everything the go commands printed: compiler errors.
	Output string
	// ExitCode is the go command's exit status: 0 when every build
	// succeeded or none ran, -1 when a signal killed it.
	ExitCode int
	// Started and Duration time the whole Build, from the call (waiting for
	// a cancelled build to be killed included) to the binaries in place.
	Started  time.Time
	Duration time.Duration
}

// Command is one go build a [Result] ran.
type Command struct {
	// Args are its arguments, after "go".
	Args []string
	// Duration is from its start to its exit: the go command's share of
	// the build.
	Duration time.Duration
	ExitCode int
}

// Failed reports whether any service failed to build.
func (r *Result) Failed() bool {
	return slices.ContainsFunc(r.Services, func(s ServiceResult) bool { return s.State == Failed })
}

// Changed returns the names of the services with a new binary.
func (r *Result) Changed() []string {
	var names []string
	for _, s := range r.Services {
		if s.State == Changed {
			names = append(names, s.Name)
		}
	}
	return names
}

// Service returns the result for the service called name, or nil.
func (r *Result) Service(name string) *ServiceResult {
	for i := range r.Services {
		if r.Services[i].Name == name {
			return &r.Services[i]
		}
	}
	return nil
}

// Binaries maps each service that has a binary to it: what a supervisor
// starts.
func (r *Result) Binaries() map[string]string {
	m := map[string]string{}
	for _, s := range r.Services {
		if s.Binary != "" {
			m[s.Name] = s.Binary
		}
	}
	return m
}

// service is the builder's state for one service of the layout.
type service struct {
	name  string
	ls    *layout.Service
	run   string // run: PKG.NAME, or ""
	group int    // which stage directory, and go build, it belongs to

	// pattern is what go build is given: the virtual main directory of a
	// run: service, the package of a main: one.
	pattern string
	// execName is the file name go build gives its binary.
	execName string

	// A run: service is found in its package before it can be built.
	spec     runner.Spec
	target   *runner.Target  // nil until located
	svc      *runner.Service // nil until discovered
	findErr  error           // why it is not, shown as its build output
	mainFile string          // the generated main on disk

	id     string // content id of the current binary
	binary string
	failed bool
	// isolated: its package could not be loaded last time, which stops a
	// go build of anything with it; it is built on its own until it can.
	isolated bool
}

// Builder builds a layout's services; see the package documentation.
type Builder struct {
	mod      *runner.Module
	lay      *layout.Layout
	opts     Options
	dir      string // <module root>/.toil/dev
	env      []string
	services []*service
	groups   int

	mu         sync.Mutex // guards seq and pending
	seq        int
	pending    map[string]bool // files no completed build has seen
	pendingAll bool

	q *queue // shared with every Builder of the module

	// Held with q.slot:
	goenv   goEnv
	haveEnv bool
	ldflags []string // the -ldflags argument, or none
	flags   []string // Options.Flags without their -ldflags
	idx     *index
	stale   bool // idx needs listing again before it is trusted
}

// queue lets one build at a time use a module's .toil/dev, whichever
// Builder of the process runs it: after a toil.yaml change a new Builder
// starts while the old one may still be building, and both would write the
// same stage and clean the same work directory.
type queue struct {
	mu     sync.Mutex
	cancel context.CancelCauseFunc // of the newest Build
	slot   chan struct{}           // held by the one build running
}

var (
	queuesMu sync.Mutex
	queues   = map[string]*queue{} // by .toil/dev directory
)

func queueFor(dir string) *queue {
	queuesMu.Lock()
	defer queuesMu.Unlock()
	q := queues[dir]
	if q == nil {
		q = &queue{slot: make(chan struct{}, 1)}
		queues[dir] = q
	}
	return q
}

// goEnv is what toil reads from `go env` once.
type goEnv struct {
	GOFLAGS, GOROOT, GOMODCACHE, GOEXE string
}

// New returns a builder for the services of lay, in the module mod. It
// checks what it can without running anything: each run: service's
// PKG.NAME. Packages are found, and problems with them reported, by the
// first Build, per service.
//
// The Builders of one module in a process share its .toil/dev and take
// turns: a Build of any of them supersedes the build another one runs (for
// a new Builder after a toil.yaml change, whose first Build builds
// everything anyway).
func New(mod *runner.Module, lay *layout.Layout, opts Options) (*Builder, error) {
	if opts.Env == nil {
		opts.Env = os.Environ()
	}
	if opts.Keep <= 0 {
		opts.Keep = 3
	}
	dir := filepath.Join(mod.Root, ".toil", "dev")
	b := &Builder{
		mod:     mod,
		lay:     lay,
		opts:    opts,
		dir:     dir,
		pending: map[string]bool{},
		q:       queueFor(dir),
	}
	// GOTMPDIR on the stage's file system: the linked binary is renamed
	// into the stage, not copied, and a killed build's work directory is
	// ours to remove.
	b.env = append(slices.Clone(opts.Env), "GOTMPDIR="+filepath.Join(dir, "tmp"))
	names := map[string][]string{} // exec name → services, for groups
	for _, ls := range lay.Services {
		s := &service{name: ls.Name, ls: ls, run: ls.Run}
		if ls.Run != "" {
			spec, err := runner.ParseSpec(ls.Run)
			if err != nil {
				return nil, fmt.Errorf("%s:%d: service %s: %w", lay.File, ls.Pos.Line, ls.Name, err)
			}
			s.spec = spec
			s.pattern = filepath.Join(dir, "main", ls.Name)
			s.execName = ls.Name
		} else {
			s.pattern, s.execName = b.mainPattern(ls.Main)
		}
		s.group = len(names[s.execName])
		names[s.execName] = append(names[s.execName], s.name)
		b.groups = max(b.groups, s.group+1)
		b.services = append(b.services, s)
	}
	return b, nil
}

// mainPattern is what go build is given for main: m, and the name of the
// binary it makes.
func (b *Builder) mainPattern(m string) (pattern, name string) {
	if m == "." || strings.HasPrefix(m, "./") {
		dir := b.lay.Path(m)
		ip := b.mod.Path
		if rel, err := filepath.Rel(b.mod.Root, dir); err == nil && rel != "." && !strings.HasPrefix(rel, "..") {
			ip += "/" + filepath.ToSlash(rel)
		}
		return dir, execName(ip)
	}
	return m, execName(m)
}

// execName is the go command's name for the binary of the main package at
// import path ip: its last element, or the one before a major version
// suffix (example.com/cmd/v2 is "cmd").
func execName(ip string) string {
	dir, elem := path.Split(ip)
	if dir != "" && isVersionElement(elem) {
		_, elem = path.Split(path.Dir(ip))
	}
	return elem
}

func isVersionElement(s string) bool {
	if len(s) < 2 || s[0] != 'v' || s[1] == '0' || s[1] == '1' && len(s) == 2 {
		return false
	}
	for _, r := range s[1:] {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// Build builds the services the files of r can change, and those whose last
// build failed, and returns what became of every service. It cancels the
// build running, if any, and waits for it to be killed first; if a newer
// call cancels this one, it returns ErrSuperseded and the newer one builds
// this one's files. A compile error is not an error: see
// [ServiceResult.State]. Errors are the context's, ErrSuperseded, and what
// keeps the go command from running at all.
func (b *Builder) Build(ctx context.Context, r Reason) (*Result, error) {
	started := time.Now()
	b.mu.Lock()
	b.seq++
	seq := b.seq
	if len(r.Files) == 0 {
		b.pendingAll = true
	}
	for _, f := range r.Files {
		if !filepath.IsAbs(f) {
			f = filepath.Join(b.lay.Dir, f)
		}
		b.pending[filepath.Clean(f)] = true
	}
	b.mu.Unlock()

	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	b.q.mu.Lock()
	if b.q.cancel != nil {
		b.q.cancel(ErrSuperseded)
	}
	b.q.cancel = cancel
	b.q.mu.Unlock()

	select {
	case b.q.slot <- struct{}{}:
	case <-ctx.Done():
		return nil, context.Cause(ctx)
	}
	defer func() { <-b.q.slot }()
	if ctx.Err() != nil {
		return nil, context.Cause(ctx)
	}

	b.mu.Lock()
	files, all := b.pending, b.pendingAll
	b.pending, b.pendingAll = map[string]bool{}, false
	b.mu.Unlock()

	res, err := b.build(ctx, files, all)
	if err != nil {
		// Not built: the next build takes these files over.
		b.mu.Lock()
		for f := range files {
			b.pending[f] = true
		}
		b.pendingAll = b.pendingAll || all
		b.mu.Unlock()
		if ctx.Err() != nil {
			return nil, context.Cause(ctx)
		}
		return nil, err
	}
	res.Seq = seq
	res.Started = started
	res.Duration = time.Since(started)
	return res, nil
}

// build runs with the slot held.
func (b *Builder) build(ctx context.Context, files map[string]bool, all bool) (*Result, error) {
	if err := b.prepare(ctx); err != nil {
		return nil, err
	}
	res := &Result{}
	prev := map[string]string{}
	for _, s := range b.services {
		prev[s.name] = s.binary
	}

	// What to build. An index left stale by an earlier build cannot be
	// trusted with this one's files; one made stale by this batch's
	// files still maps them right, and is listed again for the next.
	targets := map[string]bool{}
	relist := b.idx == nil || b.stale
	if all || b.opts.All || relist {
		for _, s := range b.services {
			targets[s.name] = true
		}
	} else {
		for f := range files {
			svcs, stale := b.idx.affected(f)
			relist = relist || stale
			for _, n := range svcs {
				targets[n] = true
			}
		}
	}
	// A run: service not found yet is looked for again when its package
	// changed, or when it had none (a directory may have appeared).
	var look []*service
	for _, s := range b.services {
		if s.run != "" && s.svc == nil && (targets[s.name] || s.target == nil) {
			look = append(look, s)
		}
	}
	found, err := b.find(ctx, look, false)
	if err != nil {
		return nil, err
	}
	for _, s := range b.services {
		if s.failed || found[s.name] {
			targets[s.name] = true
		}
	}
	if len(found) > 0 {
		relist = true // a new main, or a service package listed for the first time
	}
	if relist {
		// Until a listing succeeds: a cancelled build must not leave a
		// map the next one trusts.
		b.stale = true
	}

	overlay, err := b.writeOverlay()
	if err != nil {
		return nil, err
	}
	// The listing runs beside the build: it reads the tree as the build
	// does, and is needed only to attribute failures and for the next
	// batch.
	type listed struct {
		idx *index
		err error
	}
	var listc chan listed
	if relist {
		listc = make(chan listed, 1)
		lctx, lcancel := context.WithCancel(ctx)
		defer lcancel()
		roots := b.listRoots()
		go func() {
			idx, err := b.list(lctx, overlay, roots)
			listc <- listed{idx, err}
		}()
		// Every return below waits for it, so no listing outlives Build.
		defer func() {
			if listc != nil {
				lcancel()
				<-listc
			}
		}()
	}

	outs, err := b.goBuild(ctx, res, overlay, targets)
	if err != nil {
		return nil, err
	}
	if listc != nil {
		l := <-listc
		listc = nil
		if l.err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			// Without a map every change builds every service, which is
			// slower but right.
			b.idx, b.stale = nil, true
		} else {
			b.idx, b.stale = l.idx, false
		}
	}
	failed := b.attribute(targets, outs)

	// A generated main that no longer compiles means the service changed
	// shape (renamed, func to struct): find it again, and build it once
	// more if it was found anew.
	var again []*service
	for _, s := range b.services {
		if msg, ok := failed[s.name]; ok && s.svc != nil && strings.Contains(msg, "# "+b.mainImportPath(s)+"\n") {
			again = append(again, s)
		}
	}
	if len(again) > 0 {
		refound, err := b.find(ctx, again, true)
		if err != nil {
			return nil, err
		}
		if len(refound) > 0 {
			retry := map[string]bool{}
			for n := range refound {
				retry[n] = true
			}
			if overlay, err = b.writeOverlay(); err != nil {
				return nil, err
			}
			more, err := b.goBuild(ctx, res, overlay, retry)
			if err != nil {
				return nil, err
			}
			refailed := b.attribute(retry, more)
			for n := range retry {
				if msg, bad := refailed[n]; bad {
					failed[n] = msg
				} else {
					delete(failed, n)
				}
			}
			b.stale = true // the mains import something else now
		}
	}

	for _, s := range b.services {
		sr := ServiceResult{Name: s.name, Previous: prev[s.name], Built: targets[s.name] && b.buildable(s)}
		switch msg, bad := failed[s.name]; {
		case s.findErr != nil:
			sr.State, sr.Output = Failed, s.findErr.Error()+"\n"
		case bad:
			sr.State, sr.Output = Failed, msg
		case targets[s.name] && b.buildable(s):
			changed, msg, err := b.collect(s)
			switch {
			case err != nil:
				return nil, err
			case msg != "":
				sr.State, sr.Output = Failed, msg
			case changed:
				sr.State = Changed
			}
		}
		s.failed = sr.State == Failed
		sr.Binary = s.binary
		res.Services = append(res.Services, sr)
	}
	return res, nil
}
