// Package stubs type-checks toil lint's stand-ins for the few packages the
// rules match (fmt, os, runtime, log, the dump libraries, ...), so that the
// lint engine can resolve calls to them exactly without compiling, or even
// finding, the real packages and their dependencies.
//
// Each stub under src/<import path>/ declares the real signatures of what
// the rules look at, and some common neighbours so that ordinary code using
// them type-checks with fewer errors. Stubs have no function bodies, and a
// `//go:build ignore` line keeps the go command away from them.
package stubs

import (
	"embed"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"go/types"
	"io/fs"
	"path"
	"sort"
	"strings"
	"sync"
)

//go:embed src
var src embed.FS

// Paths returns the import paths that have a stub, sorted.
func Paths() []string {
	s := load()
	paths := make([]string, 0, len(s.sources))
	for p := range s.sources {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	return paths
}

// Source returns the stub source files of an import path, by file name.
func Source(importPath string) (map[string][]byte, bool) {
	files, ok := load().sources[importPath]
	return files, ok
}

// Has reports whether importPath has a stub.
func Has(importPath string) bool {
	_, ok := load().sources[importPath]
	return ok
}

// Importer resolves stubbed import paths to their stub packages and fails
// every other import. go/types turns a failed import into a "fake" package,
// whose selectors are invalid: exactly what the rules need, since they only
// ever match objects of stubbed packages. It is safe for concurrent use; the
// packages it returns are shared and must not be modified.
type Importer struct{}

// ErrNotStubbed is the error Import returns for a package without a stub.
type ErrNotStubbed struct{ Path string }

func (e *ErrNotStubbed) Error() string {
	return fmt.Sprintf("package %s is not loaded by toil lint", e.Path)
}

// Import implements types.Importer.
func (Importer) Import(importPath string) (*types.Package, error) {
	s := load()
	if s.err != nil {
		return nil, s.err
	}
	if pkg, ok := s.pkgs[importPath]; ok {
		return pkg, nil
	}
	return nil, &ErrNotStubbed{Path: importPath}
}

type set struct {
	sources map[string]map[string][]byte
	pkgs    map[string]*types.Package
	err     error
}

// load reads and type-checks every stub once, on first use.
var load = sync.OnceValue(func() *set {
	s := &set{sources: map[string]map[string][]byte{}, pkgs: map[string]*types.Package{}}
	err := fs.WalkDir(src, "src", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".go") {
			return err
		}
		b, err := src.ReadFile(p)
		if err != nil {
			return err
		}
		ip := strings.TrimPrefix(path.Dir(p), "src/")
		if s.sources[ip] == nil {
			s.sources[ip] = map[string][]byte{}
		}
		s.sources[ip][path.Base(p)] = b
		return nil
	})
	if err != nil {
		s.err = fmt.Errorf("read stubs: %w", err)
		return s
	}
	fset := token.NewFileSet()
	var check func(ip string, stack []string) (*types.Package, error)
	check = func(ip string, stack []string) (*types.Package, error) {
		if pkg, ok := s.pkgs[ip]; ok {
			return pkg, nil
		}
		files, ok := s.sources[ip]
		if !ok {
			return nil, &ErrNotStubbed{Path: ip}
		}
		for _, p := range stack {
			if p == ip {
				return nil, fmt.Errorf("stub import cycle: %s", strings.Join(append(stack, ip), " -> "))
			}
		}
		names := make([]string, 0, len(files))
		for name := range files {
			names = append(names, name)
		}
		sort.Strings(names)
		var syntax []*ast.File
		for _, name := range names {
			f, err := parser.ParseFile(fset, "stubs/"+ip+"/"+name, files[name], parser.SkipObjectResolution)
			if err != nil {
				return nil, fmt.Errorf("parse stub: %w", err)
			}
			syntax = append(syntax, f)
		}
		var firstErr error
		conf := types.Config{
			Importer: importerFunc(func(dep string) (*types.Package, error) {
				return check(dep, append(stack, ip))
			}),
			Error: func(err error) {
				if firstErr == nil {
					firstErr = err
				}
			},
		}
		pkg, _ := conf.Check(ip, fset, syntax, nil)
		if firstErr != nil {
			return nil, fmt.Errorf("type-check stub %s: %w", ip, firstErr)
		}
		s.pkgs[ip] = pkg
		return pkg, nil
	}
	for ip := range s.sources {
		if _, err := check(ip, nil); err != nil {
			s.err = err
			return s
		}
	}
	return s
})

type importerFunc func(path string) (*types.Package, error)

func (f importerFunc) Import(path string) (*types.Package, error) { return f(path) }

// Name returns the package name of a stubbed import path, "" if none.
func Name(importPath string) string {
	if pkg, ok := load().pkgs[importPath]; ok {
		return pkg.Name()
	}
	return ""
}
