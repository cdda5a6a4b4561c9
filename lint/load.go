package lint

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"go/build"
	"go/scanner"
	"go/token"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// fileSystem is where package sources are read from: the working tree, or
// the git index for --staged. Paths are absolute, in OS form.
type fileSystem interface {
	ReadDir(dir string) ([]fs.FileInfo, error)
	ReadFile(name string) ([]byte, error)
	IsDir(name string) bool
}

// diskFS reads the working tree.
type diskFS struct{}

func (diskFS) ReadDir(dir string) ([]fs.FileInfo, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	infos := make([]fs.FileInfo, 0, len(entries))
	for _, e := range entries {
		info, err := e.Info()
		if err != nil {
			continue // removed while listing
		}
		infos = append(infos, info)
	}
	return infos, nil
}

func (diskFS) ReadFile(name string) ([]byte, error) { return os.ReadFile(name) }

func (diskFS) IsDir(name string) bool {
	fi, err := os.Stat(name)
	return err == nil && fi.IsDir()
}

// module is the Go module a package directory belongs to. Path is empty
// outside any module; import paths are then the directory relative to Dir.
type module struct {
	Dir       string
	Path      string
	GoVersion string // "1.22", from the go directive; "" if absent
}

// importPath is the import path of the package in dir.
func (m module) importPath(dir string) string {
	rel, err := filepath.Rel(m.Dir, dir)
	if err != nil || rel == "." {
		if m.Path == "" {
			return filepath.Base(dir)
		}
		return m.Path
	}
	rel = filepath.ToSlash(rel)
	if m.Path == "" {
		return rel
	}
	return m.Path + "/" + rel
}

// readModule reads dir/go.mod from fsys (then from disk, since the index may
// lack one that the working tree has); false when there is none.
func readModule(fsys fileSystem, dir string) (module, bool, error) {
	b, err := fsys.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil && fsys != (diskFS{}) {
		b, err = os.ReadFile(filepath.Join(dir, "go.mod"))
	}
	if err != nil {
		return module{}, false, nil
	}
	m, perr := parseGoMod(b)
	if perr != nil {
		return module{}, false, fmt.Errorf("%s: %w", filepath.Join(dir, "go.mod"), perr)
	}
	m.Dir = dir
	return m, true, nil
}

// parseGoMod reads the module path and go version; the rest of go.mod
// (requirements) does not matter, since toil lint resolves no dependency.
func parseGoMod(b []byte) (module, error) {
	var m module
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	line := 0
	for sc.Scan() {
		line++
		text := sc.Text()
		if i := strings.Index(text, "//"); i >= 0 {
			text = text[:i]
		}
		fields := strings.Fields(text)
		if len(fields) != 2 {
			continue
		}
		switch fields[0] {
		case "module":
			p := fields[1]
			if uq, err := strconv.Unquote(p); err == nil {
				p = uq
			}
			m.Path = p
		case "go":
			m.GoVersion = fields[1]
		}
	}
	if m.Path == "" {
		return m, errors.New("no module directive")
	}
	return m, nil
}

// skipDir reports whether the go command's ./... skips a directory of this name.
func skipDir(name string) bool {
	return name == "testdata" || name == "vendor" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")
}

// pattern is one package pattern resolved to a directory.
type pattern struct {
	text      string
	dir       string // absolute
	recursive bool   // dir/...
}

// parsePatterns resolves package patterns relative to dir and the module m.
// Supported: relative and absolute directories, with or without /..., and
// import paths inside the main module. Anything else cannot be linted without
// resolving dependencies, which toil lint never does.
func parsePatterns(dir string, m module, args []string) ([]pattern, error) {
	var out []pattern
	for _, a := range args {
		p := pattern{text: a}
		s := a
		if s == "..." {
			s = "./..."
		}
		if strings.HasSuffix(s, "/...") {
			p.recursive = true
			s = strings.TrimSuffix(s, "/...")
		}
		switch {
		case s == "." || s == ".." || strings.HasPrefix(s, "./") || strings.HasPrefix(s, "../") || filepath.IsAbs(s):
			if !filepath.IsAbs(s) {
				s = filepath.Join(dir, s)
			}
			p.dir = filepath.Clean(s)
		case m.Path != "" && (s == m.Path || strings.HasPrefix(s, m.Path+"/")):
			p.dir = filepath.Join(m.Dir, filepath.FromSlash(strings.TrimPrefix(strings.TrimPrefix(s, m.Path), "/")))
		default:
			// A bare relative directory ("pkg/x") is accepted too, like go vet
			// does not, because people type it; an import path outside the
			// module is not lintable.
			if fi, err := os.Stat(filepath.Join(dir, s)); err == nil && fi.IsDir() {
				p.dir = filepath.Join(dir, s)
				break
			}
			where := "the current directory"
			if m.Path != "" {
				where = "module " + m.Path
			}
			return nil, fmt.Errorf("package pattern %q matches no directory in %s; use a directory (./pkg, ./...) or an import path under %s", a, where, m.Path)
		}
		out = append(out, p)
	}
	return out, nil
}

// matches reports whether the package directory dir is selected by p.
func (p pattern) matches(dir string) bool {
	if dir == p.dir {
		return true
	}
	if !p.recursive {
		return false
	}
	rel, err := filepath.Rel(p.dir, dir)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return false
	}
	for _, elem := range strings.Split(rel, string(filepath.Separator)) {
		if skipDir(elem) {
			return false
		}
	}
	return true
}

// expand lists the package directories the patterns select on disk, in
// order, skipping what ./... skips: testdata, vendor, _ and . directories,
// and nested modules.
func expand(pats []pattern) ([]string, error) {
	seen := map[string]bool{}
	var dirs []string
	add := func(d string) {
		if !seen[d] {
			seen[d] = true
			dirs = append(dirs, d)
		}
	}
	for _, p := range pats {
		fi, err := os.Stat(p.dir)
		if err != nil || !fi.IsDir() {
			return nil, fmt.Errorf("package pattern %q: directory %s does not exist", p.text, p.dir)
		}
		if !p.recursive {
			add(p.dir)
			continue
		}
		err = filepath.WalkDir(p.dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				if path == p.dir {
					return err
				}
				return nil // an unreadable subdirectory is skipped, like go list does
			}
			if !d.IsDir() {
				return nil
			}
			if path != p.dir {
				if skipDir(d.Name()) {
					return filepath.SkipDir
				}
				if _, err := os.Stat(filepath.Join(path, "go.mod")); err == nil {
					return filepath.SkipDir // another module
				}
			}
			if hasGoFiles(path) {
				add(path)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("package pattern %q: %w", p.text, err)
		}
	}
	return dirs, nil
}

func hasGoFiles(dir string) bool {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return false
	}
	for _, e := range entries {
		if !e.IsDir() && strings.HasSuffix(e.Name(), ".go") {
			return true
		}
	}
	return false
}

// buildContext is go/build's default context (GOOS, GOARCH, CGO_ENABLED
// and release tags of this toolchain) with the given extra build tags, and
// with GOROOT/GOPATH cleared: local directories never need them, and go/build
// would otherwise stat its way through them.
func buildContext(tags []string) build.Context {
	ctxt := build.Default
	ctxt.GOROOT = ""
	ctxt.GOPATH = ""
	ctxt.BuildTags = append(append([]string(nil), ctxt.BuildTags...), tags...)
	ctxt.HasSubdir = func(root, dir string) (string, bool) {
		rel, err := filepath.Rel(root, dir)
		if err != nil || strings.HasPrefix(rel, "..") {
			return "", false
		}
		return rel, true
	}
	return ctxt
}

// goflagsTags returns the -tags of $GOFLAGS, which go vet would honour too.
func goflagsTags() []string {
	var tags []string
	for _, f := range strings.Fields(os.Getenv("GOFLAGS")) {
		f = strings.TrimPrefix(f, "-")
		f = strings.TrimPrefix(f, "-")
		if v, ok := strings.CutPrefix(f, "tags="); ok {
			for _, t := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' }) {
				tags = append(tags, t)
			}
		}
	}
	return tags
}

// importDir finds the files of the package in dir that the build context
// selects, reading every file through fsys once; contents maps file paths
// to what was read.
func importDir(ctxt build.Context, fsys fileSystem, dir string) (bp *build.Package, contents map[string][]byte, err error) {
	contents = map[string][]byte{}
	ctxt.ReadDir = fsys.ReadDir
	ctxt.IsDir = fsys.IsDir
	ctxt.OpenFile = func(path string) (io.ReadCloser, error) {
		b, err := fsys.ReadFile(path)
		if err != nil {
			return nil, err
		}
		contents[path] = b
		return io.NopCloser(bytes.NewReader(b)), nil
	}
	bp, err = ctxt.ImportDir(dir, 0)
	return bp, contents, err
}

// sortedKeys returns m's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// contextBuilder makes a fresh build context per package: go/build calls
// the context's file hooks, and each package has its own file cache.
type contextBuilder struct {
	tags []string
}

func (c contextBuilder) context() build.Context { return buildContext(c.tags) }

// buildErrorPosition digs the position out of a go/build error about a
// file whose package clause or imports do not parse.
func buildErrorPosition(err error) (token.Position, bool) {
	var list scanner.ErrorList
	if errors.As(err, &list) && len(list) > 0 {
		return list[0].Pos, true
	}
	return token.Position{}, false
}
