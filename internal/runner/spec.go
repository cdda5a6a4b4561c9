package runner

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// ToilPath is the import path of the framework a service is written against.
const ToilPath = "github.com/toilhq/toil"

// InputError is a problem with what the user asked for (a name that matches
// nothing, a missing package, no module): toil exits 2 on it.
type InputError struct{ Msg string }

func (e *InputError) Error() string { return e.Msg }

func inputErrorf(format string, args ...any) error {
	return &InputError{Msg: fmt.Sprintf(format, args...)}
}

// Spec is a parsed PKG.NAME argument.
type Spec struct {
	Pkg  string // as typed: "hello", "a/b", "./hello" or "example.com/app/hello"
	Name string // as typed: "world"
}

func (s Spec) String() string { return s.Pkg + "." + s.Name }

// ParseSpec splits PKG.NAME at its last dot, so full import paths such as
// example.com/app/hello.world work too.
func ParseSpec(arg string) (Spec, error) {
	i := strings.LastIndexByte(arg, '.')
	if i <= 0 || i == len(arg)-1 || strings.ContainsRune(arg[i+1:], '/') {
		return Spec{}, inputErrorf("%q is not PKG.NAME: name a package directory and a service in it, e.g. toil run hello.world", arg)
	}
	s := Spec{Pkg: strings.TrimSuffix(arg[:i], "/"), Name: arg[i+1:]}
	if !isIdent(s.Name) {
		return Spec{}, inputErrorf("%q is not PKG.NAME: %q is not a Go identifier", arg, s.Name)
	}
	return s, nil
}

func isIdent(s string) bool {
	for i, r := range s {
		if r == '_' || 'a' <= r|0x20 && r|0x20 <= 'z' || i > 0 && '0' <= r && r <= '9' || r > 0x7f {
			continue
		}
		return false
	}
	return s != ""
}

// Module is the main module the service is looked up in.
type Module struct {
	Root string // directory holding go.mod
	Path string // module path from go.mod
}

// FindModule finds the module containing dir the way the go command does
// (the nearest go.mod above it), without running it: the cached path must not
// pay for a subprocess.
func FindModule(dir string) (*Module, error) {
	for d := dir; ; {
		data, err := os.ReadFile(filepath.Join(d, "go.mod"))
		if err == nil && d == os.TempDir() {
			// The go command ignores a go.mod in the system temp root, and
			// so must toil, or it would look for services there.
			err = fs.ErrNotExist
		}
		if err == nil {
			p := modulePath(data)
			if p == "" {
				return nil, inputErrorf("%s has no module line; fix it with: go mod edit -module example.com/app", filepath.Join(d, "go.mod"))
			}
			return &Module{Root: d, Path: p}, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("read go.mod: %w", err)
		}
		parent := filepath.Dir(d)
		if parent == d {
			return nil, errNoModule(dir)
		}
		d = parent
	}
}

func errNoModule(dir string) error {
	return inputErrorf("toil run needs a Go module, and %s is not in one (no go.mod here or above); create one with: go mod init example.com/app && go get %s", dir, ToilPath)
}

// modulePath returns the path on go.mod's module line.
func modulePath(gomod []byte) string {
	for _, line := range strings.Split(string(gomod), "\n") {
		f := strings.Fields(strings.TrimSpace(line))
		if len(f) >= 2 && f[0] == "module" {
			return strings.Trim(f[1], `"`+"`")
		}
	}
	return ""
}

// Target is where a Spec's package is: a directory of the main module, or an
// import path outside it.
type Target struct {
	Pattern string // what go list is given: an absolute directory or an import path
	Dir     string // the package directory when it is in the main module
	Rel     string // Dir relative to the module root, slash-separated
}

// Locate resolves spec.Pkg: a directory relative to the module root (a/b),
// relative to cwd when it starts with ./ or ../, or an import path. A missing
// directory is an InputError that lists what exists nearby.
func Locate(mod *Module, cwd string, spec Spec) (*Target, error) {
	p := spec.Pkg
	var dir string
	switch {
	case !filepath.IsAbs(p) && !firstHasDot(p) && isDir(filepath.Join(mod.Root, filepath.FromSlash(p))):
		// A directory under the root wins over the module path it may
		// equal: in module "report", report.run is report/, as toil new
		// generates it, not the module's root package.
		dir = filepath.Join(mod.Root, filepath.FromSlash(p))
	case p == mod.Path || strings.HasPrefix(p, mod.Path+"/"):
		dir = filepath.Join(mod.Root, filepath.FromSlash(strings.TrimPrefix(p, mod.Path)))
	case p == "." || p == ".." || strings.HasPrefix(p, "./") || strings.HasPrefix(p, "../"):
		dir = filepath.Join(cwd, filepath.FromSlash(p))
	case filepath.IsAbs(p):
		dir = filepath.Clean(p)
	case isImportPath(p):
		// Not in the main module: a dependency's package. go list resolves it.
		return &Target{Pattern: p}, nil
	default:
		dir = filepath.Join(mod.Root, filepath.FromSlash(p))
	}
	rel, err := filepath.Rel(mod.Root, dir)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return nil, inputErrorf("package %s is outside module %s (%s); run toil from the module that holds it", p, mod.Path, mod.Root)
	}
	rel = filepath.ToSlash(rel)
	t := &Target{Pattern: dir, Dir: dir, Rel: rel}
	fi, err := os.Stat(dir)
	if err != nil || !fi.IsDir() {
		return nil, inputErrorf("no package %s: %s does not exist in module %s%s", p, displayDir(cwd, dir), mod.Path, nearby(mod.Root, rel))
	}
	if !hasGoFiles(dir) {
		return nil, inputErrorf("no package %s: %s has no Go files%s", p, displayDir(cwd, dir), nearby(mod.Root, rel))
	}
	for d := dir; d != mod.Root; d = filepath.Dir(d) {
		if data, err := os.ReadFile(filepath.Join(d, "go.mod")); err == nil {
			sub, _ := filepath.Rel(d, dir)
			return nil, inputErrorf("package %s is in another module, %s (%s); run toil there: cd %s && toil run %s.%s",
				p, modulePath(data), displayDir(cwd, filepath.Join(d, "go.mod")), displayDir(cwd, d), filepath.ToSlash(sub), spec.Name)
		}
	}
	return t, nil
}

// firstHasDot reports whether p's first element has a dot: an import path
// (example.com/x), or a path relative to cwd (./x, ../x).
func firstHasDot(p string) bool {
	first, _, _ := strings.Cut(p, "/")
	return strings.Contains(first, ".")
}

func isDir(dir string) bool {
	fi, err := os.Stat(dir)
	return err == nil && fi.IsDir()
}

// isImportPath reports whether p looks like a module-qualified import path:
// its first element has a dot, as every non-standard module path does.
func isImportPath(p string) bool {
	first, _, _ := strings.Cut(p, "/")
	return strings.Contains(first, ".") && !strings.ContainsAny(p, " \\:")
}

func displayDir(cwd, dir string) string {
	if rel, err := filepath.Rel(cwd, dir); err == nil && !strings.HasPrefix(rel, "..") {
		return "./" + filepath.ToSlash(rel)
	}
	return dir
}

func hasGoFiles(dir string) bool {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return false
	}
	for _, e := range ents {
		if !e.IsDir() && strings.HasSuffix(e.Name(), ".go") && !strings.HasSuffix(e.Name(), "_test.go") {
			return true
		}
	}
	return false
}

// maxWalk bounds the scan for nearby packages, so a typo in a huge monorepo
// does not cost seconds.
const maxWalk = 5000

// nearby suggests the module's packages that look like the one asked for:
// same last element first, then the module's packages in general.
func nearby(root, want string) string {
	var all []string
	n := 0
	_ = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return nil
		}
		n++
		if n > maxWalk {
			return filepath.SkipAll
		}
		name := d.Name()
		if path != root {
			if strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") || name == "testdata" || name == "vendor" {
				return filepath.SkipDir
			}
			if _, err := os.Stat(filepath.Join(path, "go.mod")); err == nil {
				return filepath.SkipDir // another module
			}
		}
		if hasGoFiles(path) {
			rel, _ := filepath.Rel(root, path)
			all = append(all, filepath.ToSlash(rel))
		}
		return nil
	})
	base := want[strings.LastIndexByte(want, '/')+1:]
	var close []string
	for _, p := range all {
		b := p[strings.LastIndexByte(p, '/')+1:]
		if strings.EqualFold(b, base) || editDistance(strings.ToLower(b), strings.ToLower(base)) <= 2 {
			close = append(close, p)
		}
	}
	switch {
	case len(close) > 0:
		return "; did you mean " + strings.Join(quoteAll(close, 5), " or ") + "?"
	case len(all) == 0:
		return "; the module has no packages yet"
	default:
		sort.Strings(all)
		return "; packages in the module: " + strings.Join(quoteAll(all, 8), ", ")
	}
}

func quoteAll(ps []string, max int) []string {
	var out []string
	for i, p := range ps {
		if i == max {
			out = append(out, fmt.Sprintf("(%d more)", len(ps)-max))
			break
		}
		out = append(out, p)
	}
	return out
}

// editDistance is the Levenshtein distance, for "did you mean" suggestions.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
