package build

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"go/parser"
	"go/token"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// listed is what go list says about one package.
type listed struct {
	ImportPath string
	Dir        string
	Standard   bool
	DepOnly    bool
	Deps       []string
	Imports    []string

	GoFiles, CgoFiles, CFiles, CXXFiles, MFiles, HFiles, FFiles, SFiles []string
	SwigFiles, SwigCXXFiles, SysoFiles                                  []string
	IgnoredGoFiles, IgnoredOtherFiles                                   []string
	EmbedPatterns                                                       []string
}

const listFields = "ImportPath,Dir,Standard,DepOnly,Deps,Imports," +
	"GoFiles,CgoFiles,CFiles,CXXFiles,MFiles,HFiles,FFiles,SFiles,SwigFiles,SwigCXXFiles,SysoFiles," +
	"IgnoredGoFiles,IgnoredOtherFiles,EmbedPatterns"

// pkgInfo is one package a service is built from whose files can change:
// neither in GOROOT nor in the module cache.
type pkgInfo struct {
	path          string
	dir           string
	realDir       string          // dir with symbolic links resolved, when that differs
	files         map[string]bool // base names of every file go list names, built or ignored
	imports       map[string]bool
	embedPatterns []string // //go:embed patterns, relative to dir
	svcs          []string // the services built from it
}

// index maps the files of a build to the services built from them.
type index struct {
	modRoot string
	byDir   map[string][]*pkgInfo
	// deps is every import path each service is built from, its main
	// package included; a service missing here has an unknown closure.
	deps map[string]map[string]bool
	// all lists the services, for a change that affects every one.
	all []string
}

// listRoot is what go list is asked about for one service.
type listRoot struct {
	service string
	pattern string // an absolute directory or an import path
}

// list runs go list -deps over the services' main packages and indexes
// the result.
func (b *Builder) list(ctx context.Context, overlay string, roots []listRoot) (*index, error) {
	args := []string{"list", "-e", "-deps", "-json=" + listFields}
	if overlay != "" {
		args = append(args, "-overlay", overlay)
	}
	for _, r := range roots {
		args = append(args, r.pattern)
	}
	out, code, err := b.runGo(ctx, args, false)
	if err != nil {
		return nil, err
	}
	if code != 0 {
		return nil, fmt.Errorf("go list: exit status %d: %s", code, bytes.TrimSpace(out))
	}
	var pkgs []*listed
	dec := json.NewDecoder(bytes.NewReader(out))
	for dec.More() {
		p := new(listed)
		if err := dec.Decode(p); err != nil {
			// go list prints warnings to the same stream only before the
			// JSON starts; anything else is a bug worth seeing.
			return nil, fmt.Errorf("read go list output: %w", err)
		}
		pkgs = append(pkgs, p)
	}
	return b.newIndex(pkgs, roots), nil
}

func (b *Builder) newIndex(pkgs []*listed, roots []listRoot) *index {
	x := &index{
		modRoot: b.mod.Root,
		byDir:   map[string][]*pkgInfo{},
		deps:    map[string]map[string]bool{},
	}
	for _, s := range b.services {
		x.all = append(x.all, s.name)
	}
	for _, p := range pkgs {
		if p.DepOnly {
			continue
		}
		for _, r := range roots {
			if r.pattern != p.ImportPath && (!filepath.IsAbs(r.pattern) || filepath.Clean(r.pattern) != p.Dir) {
				continue
			}
			set := map[string]bool{p.ImportPath: true}
			for _, d := range p.Deps {
				set[d] = true
			}
			x.deps[r.service] = set
		}
	}
	for _, p := range pkgs {
		if p.Standard || p.Dir == "" || b.immutable(p.Dir) {
			continue
		}
		info := &pkgInfo{path: p.ImportPath, dir: p.Dir, files: map[string]bool{}, imports: map[string]bool{}, embedPatterns: p.EmbedPatterns}
		for _, l := range [][]string{p.GoFiles, p.CgoFiles, p.CFiles, p.CXXFiles, p.MFiles, p.HFiles, p.FFiles, p.SFiles,
			p.SwigFiles, p.SwigCXXFiles, p.SysoFiles, p.IgnoredGoFiles, p.IgnoredOtherFiles} {
			for _, f := range l {
				info.files[f] = true
			}
		}
		for _, imp := range p.Imports {
			info.imports[imp] = true
		}
		for _, name := range x.all {
			if x.deps[name][p.ImportPath] {
				info.svcs = append(info.svcs, name)
			}
		}
		x.byDir[p.Dir] = append(x.byDir[p.Dir], info)
		if real, err := filepath.EvalSymlinks(p.Dir); err == nil && real != p.Dir {
			info.realDir = real
			x.byDir[real] = append(x.byDir[real], info)
		}
	}
	return x
}

// immutable reports whether dir is in GOROOT or the module cache, whose
// files do not change under a given go version and go.sum.
func (b *Builder) immutable(dir string) bool {
	for _, root := range []string{b.goenv.GOROOT, b.goenv.GOMODCACHE} {
		if root != "" && (dir == root || strings.HasPrefix(dir, root+string(filepath.Separator))) {
			return true
		}
	}
	return false
}

// moduleFiles change the build of everything.
var moduleFiles = map[string]bool{"go.mod": true, "go.sum": true, "go.work": true, "go.work.sum": true}

// buildExts are the extensions of files the go command builds from, other
// than .go; a new one in a package's directory changes the package.
var buildExts = []string{".c", ".cc", ".cpp", ".cxx", ".m", ".h", ".hh", ".hpp", ".hxx",
	".s", ".S", ".sx", ".f", ".F", ".for", ".f90", ".swig", ".swigcxx", ".syso"}

// affected says which services a change to the file at p (absolute; it
// may no longer exist) can change, and whether the index itself may be out
// of date after it (a new file or import, a go.mod change): then it must be
// listed again before it is trusted for the next change.
func (x *index) affected(p string) (svcs []string, stale bool) {
	svcs, stale = x.affectedAt(p)
	// The go command and the caller may see the tree through different
	// symbolic links (macOS's /var is /private/var): try the real path too.
	if real, err := filepath.EvalSymlinks(filepath.Dir(p)); err == nil && real != filepath.Dir(p) {
		more, st := x.affectedAt(filepath.Join(real, filepath.Base(p)))
		svcs, stale = append(svcs, more...), stale || st
		slices.Sort(svcs)
		svcs = slices.Compact(svcs)
	}
	return svcs, stale
}

func (x *index) affectedAt(p string) (svcs []string, stale bool) {
	base := filepath.Base(p)
	if moduleFiles[base] || strings.HasPrefix(p, filepath.Join(x.modRoot, "vendor")+string(filepath.Separator)) {
		return x.all, true
	}
	dir := filepath.Dir(p)
	test := strings.HasSuffix(base, "_test.go")
	for _, info := range x.byDir[dir] {
		switch {
		case test:
			// Tests are never part of a binary, nor do their imports
			// change what a binary is built from.
		case strings.HasSuffix(base, ".go"):
			svcs = append(svcs, info.svcs...)
			if !info.files[base] || info.importsChanged(p) {
				stale = true
			}
		case info.files[base] || slices.ContainsFunc(buildExts, func(e string) bool { return strings.HasSuffix(base, e) }):
			svcs = append(svcs, info.svcs...)
			stale = stale || !info.files[base]
		}
	}
	// An embedded file may sit in a subdirectory of its package, and a
	// new one may match a pattern: look for packages above p whose
	// patterns cover it.
	for d := dir; ; {
		for _, info := range x.byDir[d] {
			if len(info.embedPatterns) > 0 && info.embeds(p) {
				svcs = append(svcs, info.svcs...)
			}
		}
		parent := filepath.Dir(d)
		if parent == d {
			break
		}
		d = parent
	}
	slices.Sort(svcs)
	return slices.Compact(svcs), stale
}

// embeds reports whether p is, or is under, something one of the
// package's //go:embed patterns matches.
func (info *pkgInfo) embeds(p string) bool {
	rel, err := filepath.Rel(info.dir, p)
	if (err != nil || strings.HasPrefix(rel, "..")) && info.realDir != "" {
		rel, err = filepath.Rel(info.realDir, p)
	}
	if err != nil || rel == "." || strings.HasPrefix(rel, "..") {
		return false
	}
	rel = filepath.ToSlash(rel)
	for _, pat := range info.embedPatterns {
		pat = strings.TrimPrefix(pat, "all:")
		// A pattern naming a directory embeds everything under it: try
		// rel and each directory above it.
		for r := rel; ; {
			if ok, _ := path.Match(pat, r); ok {
				return true
			}
			i := strings.LastIndexByte(r, '/')
			if i < 0 {
				break
			}
			r = r[:i]
		}
	}
	return false
}

// importsChanged reports whether the Go file at p imports something its
// package did not, or embeds with a pattern it did not, or cannot be read
// (removed, or half-written): either way the package's place in the graph
// may have moved.
func (info *pkgInfo) importsChanged(p string) bool {
	src, err := os.ReadFile(p)
	if err != nil {
		return true
	}
	if info.newEmbed(src) {
		return true
	}
	f, err := parser.ParseFile(token.NewFileSet(), p, src, parser.ImportsOnly)
	if err != nil {
		return true
	}
	for _, imp := range f.Imports {
		path, err := strconv.Unquote(imp.Path.Value)
		if err != nil || !info.imports[path] && path != "C" {
			return true
		}
	}
	return false
}

// newEmbed reports whether src has a //go:embed pattern the package did
// not have. A pattern it cannot read counts as new.
func (info *pkgInfo) newEmbed(src []byte) bool {
	for line := range bytes.Lines(src) {
		rest, ok := bytes.CutPrefix(bytes.TrimSpace(line), []byte("//go:embed"))
		if !ok {
			continue
		}
		for _, f := range strings.Fields(string(rest)) {
			if f[0] == '"' || f[0] == '`' {
				u, err := strconv.Unquote(f)
				if err != nil {
					return true
				}
				f = u
			}
			if !slices.Contains(info.embedPatterns, f) {
				return true
			}
		}
	}
	return false
}
