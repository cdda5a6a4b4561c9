// Package lint is toil lint's engine: it finds packages, type-checks them
// without compiling or downloading any dependency, runs the analyzers, and
// narrows findings to changed lines (--staged, --new-from-rev,
// --new-from-patch).
//
// The rules only ever match calls into a handful of packages (fmt, os,
// runtime, log, the dump libraries). Those imports resolve to small stubs
// with the real signatures (package lint/stubs); every other import becomes
// a fake package that go/types knows nothing about. Scopes, shadowing, dot
// imports and builtins still resolve exactly as the compiler resolves them,
// so the findings are those of a full type-check at a fraction of its cost:
// no build cache, no module download, one package in memory per CPU.
//
// Two things keep a run short on a large module. A syntactic prefilter
// (prefilter.go) skips type-checking the packages where no running rule can
// report anything, which is most of them, and in the packages it keeps, the
// function bodies of the files where no rule can report (stripBodies). A
// findings cache (cache.go, in
// os.UserCacheDir()/toil/lint) keyed by toil's build, the settings and the
// files' contents lets an unchanged package cost a read and a hash.
package lint

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"go/build"
	"go/token"
	"go/types"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"

	"golang.org/x/tools/go/analysis"

	"github.com/toilhq/toil/analyzers"
)

// Config says what to lint and how.
type Config struct {
	// Dir is where patterns are resolved and the module, git repository and
	// toil.yaml are looked for. Empty means the current directory.
	Dir string
	// Patterns select packages: directories (./x, ./...), or import paths in
	// the main module. Empty means ./... .
	Patterns []string
	// Analyzers are the rules to run. Nil means Settings.Analyzers().
	Analyzers []*analysis.Analyzer
	// Settings configure the rules when Analyzers is nil: toil.yaml's
	// `lint:` section (analyzers.LoadSettings) with flags applied on top.
	Settings analyzers.Settings

	// Staged lints what the next commit would contain: the git index, not
	// the working tree, and reports only the lines the commit adds.
	Staged bool
	// NewFromRev reports only lines added since this git revision (up to
	// the working tree, untracked files included).
	NewFromRev string
	// NewFromPatch reports only lines a unified diff in this file adds.
	NewFromPatch string

	// Fix applies suggested fixes to the files on disk.
	Fix bool
	// BuildTags are added to the build context; $GOFLAGS -tags are too.
	BuildTags []string
	// Jobs is how many packages are checked at once; 0 means GOMAXPROCS.
	Jobs int
	// Cache is the directory of the findings cache, which makes a run over
	// unchanged packages read and hash their files instead of parsing
	// them. "" means $TOIL_LINT_CACHE, else os.UserCacheDir()/toil/lint;
	// CacheOff (also as $TOIL_LINT_CACHE) disables it.
	Cache string
}

// Finding is one diagnostic of one rule.
type Finding struct {
	Rule     string         // analyzer name
	Category string         // diagnostic category, if any
	Message  string         // what is wrong
	URL      string         // documentation, if any
	Pos, End token.Position // in the file as linted; absolute Filename
	Fixes    []Fix          // alternative suggested fixes; --fix applies the first
}

// Fix is a suggested fix: edits to apply together.
type Fix struct {
	Message string
	Edits   []Edit
}

// Edit replaces bytes [Start, End) of Filename (absolute) with NewText.
type Edit struct {
	Filename   string
	Start, End int
	NewText    string
}

// PackageError is a package that could not be linted, such as one with a
// syntax error. The other packages are linted regardless.
type PackageError struct {
	Dir        string         // absolute
	ImportPath string         // "" when unknown
	Pos        token.Position // where, when known (the first syntax error)
	Err        error
}

func (e *PackageError) Error() string {
	return fmt.Sprintf("package %s: %v", cmp.Or(e.ImportPath, e.Dir), e.Err)
}

func (e *PackageError) Unwrap() error { return e.Err }

// FixFailure is a finding whose fix --fix did not apply, and why.
type FixFailure struct {
	Finding Finding
	Reason  string
}

// Result is what a run found.
type Result struct {
	// Findings are the unfixed findings, sorted by file, line, column, rule.
	Findings []Finding
	// Fixed are the findings whose fixes were applied (with Config.Fix).
	Fixed []Finding
	// FixFailures are fixes that were not applied (conflicting edits, a file
	// changed since it was linted, a result that would not parse).
	FixFailures []FixFailure
	// FixedFiles are the files --fix rewrote, absolute.
	FixedFiles []string
	// Deleted is what each applied fix removed, in the order of Fixed.
	Deleted []Deletion
	// Errors are packages that could not be linted.
	Errors []*PackageError
	// Packages is the number of units (package, or external test package)
	// that were linted: analysed, found unable to have a finding by the
	// prefilter, or served from the findings cache.
	Packages int
	// ChangedFiles are the Go files with added lines, in a changed-lines
	// mode; absolute. Nil in a full run.
	ChangedFiles []string
	// ChangedMode reports whether a changed-lines mode was used.
	ChangedMode bool

	// checked counts the units that were type-checked and analysed; the
	// prefilter found nothing to report in the others.
	checked int
	// stripped counts the files of those units type-checked without their
	// function bodies.
	stripped int
}

// ErrNoPackages is returned when the patterns select no Go package.
var ErrNoPackages = errors.New("no Go packages matched")

// engine holds what every package's check shares.
type engine struct {
	fset      *token.FileSet
	sizes     types.Sizes
	analyzers []*analysis.Analyzer
	filter    *prefilter     // nil: analyse every unit
	cache     *findingsCache // nil: no cache
	checked   atomic.Int64
	stripped  atomic.Int64 // files type-checked without function bodies
	ctxt      contextBuilder

	mu     sync.Mutex
	linted map[string][]byte // contents of files that fixes edit
}

// Run lints the packages cfg selects. An error means nothing was linted
// (bad configuration, no packages); packages that fail to load are in
// Result.Errors and do not stop the others.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	return run(ctx, cfg, true)
}

// run is Run, with the prefilter optional so that tests can show that it
// changes no finding.
func run(ctx context.Context, cfg Config, prefiltered bool) (*Result, error) {
	dir := cfg.Dir
	if dir == "" {
		wd, err := os.Getwd()
		if err != nil {
			return nil, err
		}
		dir = wd
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	modes := 0
	for _, on := range []bool{cfg.Staged, cfg.NewFromRev != "", cfg.NewFromPatch != ""} {
		if on {
			modes++
		}
	}
	if modes > 1 {
		return nil, errors.New("--staged, --new-from-rev and --new-from-patch are exclusive: pick one")
	}
	as := cfg.Analyzers
	if as == nil {
		if as, err = cfg.Settings.Analyzers(); err != nil {
			return nil, err
		}
	}
	if len(as) == 0 {
		return nil, errors.New("every rule is disabled: nothing to run")
	}
	patterns := cfg.Patterns
	if len(patterns) == 0 {
		patterns = []string{"./..."}
	}

	var fsys fileSystem = diskFS{}
	var changes map[string]lineSet
	switch {
	case cfg.Staged:
		fsys, changes, err = stagedChanges(dir)
	case cfg.NewFromRev != "":
		changes, err = revChanges(dir, cfg.NewFromRev)
	case cfg.NewFromPatch != "":
		changes, err = patchChanges(dir, cfg.NewFromPatch)
	}
	if err != nil {
		return nil, err
	}

	mods := newModuleCache(fsys)
	m0, err := mods.of(dir)
	if err != nil {
		return nil, err
	}
	pats, err := parsePatterns(dir, m0, patterns)
	if err != nil {
		return nil, err
	}
	res := &Result{ChangedMode: changes != nil}

	var dirs []string
	explicit := map[string]bool{}
	if changes != nil {
		seen := map[string]bool{}
		for _, file := range sortedKeys(changes) {
			d := filepath.Dir(file)
			if !slices.ContainsFunc(pats, func(p pattern) bool { return p.matches(d) }) {
				delete(changes, file)
				continue
			}
			res.ChangedFiles = append(res.ChangedFiles, file)
			if !seen[d] {
				seen[d] = true
				dirs = append(dirs, d)
			}
		}
		if len(dirs) == 0 {
			return res, nil
		}
	} else {
		if dirs, err = expand(pats); err != nil {
			return nil, err
		}
		for _, p := range pats {
			if !p.recursive {
				explicit[p.dir] = true
			}
		}
		if len(dirs) == 0 {
			return nil, fmt.Errorf("%w %v", ErrNoPackages, patterns)
		}
	}

	e := &engine{
		fset:      token.NewFileSet(),
		sizes:     types.SizesFor("gc", runtime.GOARCH),
		analyzers: as,
		ctxt:      contextBuilder{tags: append(goflagsTags(), cfg.BuildTags...)},
		linted:    map[string][]byte{},
	}
	if prefiltered {
		e.filter = newPrefilter(as)
	}
	e.cache = openCache(cacheDir(cfg.Cache), as, e.ctxt.tags, prefiltered)
	findings, err := e.lintDirs(ctx, cfg.Jobs, fsys, mods, dirs, explicit, res)
	if err != nil {
		return nil, err
	}
	res.checked = int(e.checked.Load())
	res.stripped = int(e.stripped.Load())
	if changes != nil {
		findings = slices.DeleteFunc(findings, func(f Finding) bool {
			return !changes[f.Pos.Filename][f.Pos.Line]
		})
	}
	sortFindings(findings)
	res.Findings = findings
	if cfg.Fix {
		e.applyFixes(res)
	}
	if !res.ChangedMode && res.Packages == 0 && len(res.Errors) == 0 {
		return nil, fmt.Errorf("%w %v (build constraints exclude all Go files)", ErrNoPackages, patterns)
	}
	return res, nil
}

// lintDirs checks the packages in dirs with a pool of workers.
func (e *engine) lintDirs(ctx context.Context, jobs int, fsys fileSystem, mods *moduleCache, dirs []string, explicit map[string]bool, res *Result) ([]Finding, error) {
	if jobs <= 0 {
		jobs = runtime.GOMAXPROCS(0)
	}
	work := make(chan string)
	var (
		mu       sync.Mutex
		findings []Finding
		seen     = map[findingKey]bool{}
	)
	var wg sync.WaitGroup
	for range min(jobs, len(dirs)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for dir := range work {
				fs, errs, n := e.lintDir(fsys, mods, dir, explicit[dir])
				mu.Lock()
				for _, f := range fs {
					// A file seen by two units (never with toil's own
					// loader, but cheap to guarantee) is reported once.
					k := findingKey{f.Pos.Filename, f.Pos.Offset, f.Rule, f.Message}
					if !seen[k] {
						seen[k] = true
						findings = append(findings, f)
					}
				}
				res.Errors = append(res.Errors, errs...)
				res.Packages += n
				mu.Unlock()
			}
		}()
	}
	var err error
feed:
	for _, d := range dirs {
		select {
		case work <- d:
		case <-ctx.Done():
			err = ctx.Err()
			break feed
		}
	}
	close(work)
	wg.Wait()
	slices.SortFunc(res.Errors, func(a, b *PackageError) int { return cmp.Compare(a.Dir, b.Dir) })
	return findings, err
}

type findingKey struct {
	file    string
	offset  int
	rule    string
	message string
}

// lintDir loads the package in dir and checks its units. It returns the
// number of units analysed.
func (e *engine) lintDir(fsys fileSystem, mods *moduleCache, dir string, explicit bool) ([]Finding, []*PackageError, int) {
	m, err := mods.of(dir)
	if err != nil {
		return nil, []*PackageError{{Dir: dir, Err: err}}, 0
	}
	ip := m.importPath(dir)
	bp, contents, err := importDir(e.ctxt.context(), fsys, dir)
	if err != nil {
		var noGo *build.NoGoError
		if errors.As(err, &noGo) && !explicit {
			return nil, nil, 0 // every file excluded by build constraints: not a package here
		}
		pe := &PackageError{Dir: dir, ImportPath: ip, Err: err}
		if pos, ok := buildErrorPosition(err); ok {
			pe.Pos = pos
		}
		return nil, []*PackageError{pe}, 0
	}
	var (
		findings []Finding
		errs     []*PackageError
		n        int
	)
	for _, u := range unitsOf(bp, ip) {
		var key [32]byte
		if e.cache != nil {
			key = e.cache.key(u, m, contents)
			if fs, ok := e.cache.get(key); ok {
				for _, f := range fs {
					if len(f.Fixes) > 0 {
						e.keepContents(f.Fixes, contents)
					}
				}
				n++
				findings = append(findings, fs...)
				continue
			}
		}
		fs, err := e.checkUnit(u, contents, m)
		if err != nil {
			pe := &PackageError{Dir: dir, ImportPath: u.importPath, Err: err}
			if pos, ok := errorPosition(err); ok {
				pe.Pos = pos
			}
			errs = append(errs, pe)
			continue
		}
		if e.cache != nil {
			e.cache.put(key, fs)
		}
		n++
		findings = append(findings, fs...)
	}
	return findings, errs, n
}

func sortFindings(fs []Finding) {
	slices.SortFunc(fs, func(a, b Finding) int {
		return cmp.Or(
			cmp.Compare(a.Pos.Filename, b.Pos.Filename),
			cmp.Compare(a.Pos.Line, b.Pos.Line),
			cmp.Compare(a.Pos.Column, b.Pos.Column),
			cmp.Compare(a.Rule, b.Rule),
			cmp.Compare(a.Message, b.Message),
		)
	})
}

// moduleCache finds each directory's module once, remembering what it
// learns about every directory on the way up: a module's packages share
// their parents, and looking for go.mod in each of them per package was a
// tenth of a warm run.
type moduleCache struct {
	fsys fileSystem
	mu   sync.Mutex
	mods map[string]module
	none map[string]bool // directories with no go.mod here or above
}

func newModuleCache(fsys fileSystem) *moduleCache {
	return &moduleCache{fsys: fsys, mods: map[string]module{}, none: map[string]bool{}}
}

func (c *moduleCache) of(dir string) (module, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	m, ok, err := c.lookup(dir)
	if err != nil {
		return module{}, err
	}
	if !ok {
		return module{Dir: dir}, nil // outside any module
	}
	return m, nil
}

// lookup finds the module enclosing dir; false when there is none.
func (c *moduleCache) lookup(dir string) (module, bool, error) {
	if m, ok := c.mods[dir]; ok {
		return m, true, nil
	}
	if c.none[dir] {
		return module{}, false, nil
	}
	m, ok, err := readModule(c.fsys, dir)
	if err != nil {
		return module{}, false, err
	}
	if !ok {
		parent := filepath.Dir(dir)
		if parent != dir {
			m, ok, err = c.lookup(parent)
			if err != nil {
				return module{}, false, err
			}
		}
	}
	if ok {
		c.mods[dir] = m
	} else {
		c.none[dir] = true
	}
	return m, ok, nil
}
