package analyzers_test

import (
	"errors"
	"fmt"
	"go/ast"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/toilhq/toil/analyzers"
	"golang.org/x/tools/go/analysis"
	"golang.org/x/tools/go/analysis/checker"
	"golang.org/x/tools/go/packages"
)

// every returns every rule, opt-in ones included, and the directives checker.
func every(t *testing.T) []*analysis.Analyzer {
	t.Helper()
	as, err := analyzers.Settings{Enable: []string{"debugstack", "stdoutwrite", "logdebug", "dumpimport"}}.Analyzers()
	if err != nil {
		t.Fatal(err)
	}
	return as
}

// findings runs the analyzers on pkgs and returns "file:line: rule" for
// every root diagnostic, failing the test if an analyzer errs or panics
// (the checker turns a panic into an error naming the analyzer).
func findings(t *testing.T, as []*analysis.Analyzer, pkgs []*packages.Package) []string {
	t.Helper()
	graph, err := checker.Analyze(as, pkgs, nil)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for act := range graph.All() {
		if act.Err != nil {
			t.Errorf("%s on %s: %v", act.Analyzer.Name, act.Package.PkgPath, act.Err)
		}
		if !act.IsRoot {
			continue
		}
		for _, d := range act.Diagnostics {
			p := act.Package.Fset.Position(d.Pos)
			out = append(out, fmt.Sprintf("%s:%d: %s", filepath.Base(p.Filename), p.Line, d.Category))
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// TestWithoutDependencies type-checks the way toil lint does: the packages
// the targets table names come from export data, every other import fails.
// Calls through the failed imports have no types; they must produce no
// finding and no panic, while the resolvable ones are still found.
func TestWithoutDependencies(t *testing.T) {
	src := `package lib

import (
	"fmt"
	"runtime"

	"example.com/missing/spew"
	pp "github.com/k0kubun/pp/v3"
)

func F(x int) {
	fmt.Println(x)
	runtime.Breakpoint()
	spew.Dump(x)
	pp.Println(x)
	var v undefinedType
	v.Println()
	undefinedFunc(fmt.Sprint(x))
	println(x)
}
`
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "/src/lib/lib.go", src, parser.ParseComments)
	if err != nil {
		t.Fatal(err)
	}
	std := importer.Default()
	info := &types.Info{
		Types: map[ast.Expr]types.TypeAndValue{}, Defs: map[*ast.Ident]types.Object{},
		Uses: map[*ast.Ident]types.Object{}, Implicits: map[ast.Node]types.Object{},
		Selections: map[*ast.SelectorExpr]*types.Selection{}, Scopes: map[ast.Node]*types.Scope{},
		Instances: map[*ast.Ident]types.Instance{}, FileVersions: map[*ast.File]string{},
	}
	var typeErrs []packages.Error
	conf := types.Config{
		Importer: importerFunc(func(path string) (*types.Package, error) {
			if path == "fmt" || path == "runtime" {
				return std.Import(path)
			}
			return nil, errors.New("not loaded")
		}),
		Error: func(err error) {
			typeErrs = append(typeErrs, packages.Error{Msg: err.Error(), Kind: packages.TypeError})
		},
	}
	tpkg, _ := conf.Check("example.com/lib", fset, []*ast.File{f}, info)
	if len(typeErrs) == 0 {
		t.Fatal("want type errors from the unloaded imports")
	}
	pkg := &packages.Package{
		ID: "example.com/lib", Name: "lib", PkgPath: "example.com/lib",
		GoFiles: []string{"/src/lib/lib.go"}, CompiledGoFiles: []string{"/src/lib/lib.go"},
		Fset: fset, Syntax: []*ast.File{f}, Types: tpkg, TypesInfo: info,
		TypesSizes: types.SizesFor("gc", "amd64"), IllTyped: true, Errors: typeErrs,
	}
	got := findings(t, every(t), []*packages.Package{pkg})
	// dumpimport reads imports from the syntax: pp.Println is a dumping call
	// by name even though pp's types are missing.
	want := []string{"lib.go:12: fmtprint", "lib.go:13: breakpoint", "lib.go:19: builtinprint", "lib.go:8: dumpimport"}
	if !slices.Equal(got, want) {
		t.Errorf("findings = %q, want %q", got, want)
	}
}

type importerFunc func(path string) (*types.Package, error)

func (f importerFunc) Import(path string) (*types.Package, error) { return f(path) }

// TestRobustness loads a real module with a syntax error, cgo, build tags,
// generics and a huge file through go/packages, as toil lint's full mode
// and go vet do, and runs every analyzer on it.
func TestRobustness(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var huge strings.Builder
	huge.WriteString("package huge\n\nimport \"fmt\"\n\nfunc Huge() {\n")
	for i := range 5000 {
		fmt.Fprintf(&huge, "\tfmt.Println(%d) //toil:ignore fmtprint generated-like test input\n", i)
	}
	huge.WriteString("\tprintln(\"last\")\n}\n")
	files := map[string]string{
		"go.mod":           "module example.com/m\n\ngo 1.26\n",
		"broken/broken.go": "package broken\n\nimport \"fmt\"\n\nfunc Broken() {\n\tfmt.Println(\"x\"\n}\n",
		"broken/ok.go":     "package broken\n\nfunc ok() { println(1) }\n",
		"cgo/cgo.go": `package cgo

/*
static int two(void) { return 2; }
*/
import "C"

import "fmt"

func Two() int {
	fmt.Println("cgo")
	return int(C.two())
}
`,
		"tags/tags.go":  "//go:build ignore\n\npackage tags\n\nfunc T() { println(1) }\n",
		"tags/linux.go": "//go:build linux\n\npackage tags\n\nimport \"fmt\"\n\nfunc L() { fmt.Println(1) }\n",
		"generic/g.go":  "package generic\n\nimport \"fmt\"\n\ntype List[T any] struct{ items []T }\n\nfunc (l *List[T]) Dump() { for _, v := range l.items { fmt.Println(v) } }\n\nfunc Map[T, U any](xs []T, f func(T) U) []U { var out []U; for _, x := range xs { out = append(out, f(x)) }; println(len(out)); return out }\n",
		"huge/huge.go":  huge.String(),
	}
	for name, content := range files {
		write(t, filepath.Join(dir, filepath.FromSlash(name)), content)
	}
	cfg := &packages.Config{Mode: packages.LoadSyntax, Dir: dir, Tests: true, Env: append(os.Environ(), "CGO_ENABLED=1", "GOFLAGS=-mod=mod")}
	pkgs, err := packages.Load(cfg, "./...")
	if err != nil {
		t.Fatal(err)
	}
	got := findings(t, every(t), pkgs)
	for _, want := range []string{
		"cgo.go:11: fmtprint",
		"linux.go:7: fmtprint",
		"g.go:7: fmtprint",
		"g.go:9: builtinprint",
		"huge.go:5006: builtinprint",
	} {
		if !slices.Contains(got, want) {
			t.Errorf("missing finding %s in %q", want, got)
		}
	}
	for _, g := range got {
		if strings.HasPrefix(g, "tags.go") || strings.HasPrefix(g, "huge.go") && !strings.HasPrefix(g, "huge.go:5006") {
			t.Errorf("unexpected finding %s", g)
		}
	}
}
