package targets_test

import (
	"go/ast"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"path/filepath"
	"testing"

	"github.com/toilhq/toil/analyzers/internal/targets"
)

// TestStubsMatchTable type-checks the test stubs of the dump libraries
// (analyzers/dumpcall/testdata) and checks that every target of the table
// is declared there, as a function or a method of the named receiver, with
// an io.Writer where the table says the writer argument is. The stubs carry
// the real libraries' signatures, so this keeps the table honest too.
func TestStubsMatchTable(t *testing.T) {
	root := filepath.Join("..", "..", "dumpcall", "testdata", "src")
	paths := map[string]bool{}
	for _, tg := range targets.Targets {
		if targets.IsDumpLibrary(tg.Path) {
			paths[tg.Path] = true
		}
	}
	for path := range paths {
		if path == targets.PP || path == targets.PPv2 {
			continue // one stub (v3) stands for pp's three identical major versions
		}
		pkg := load(t, filepath.Join(root, filepath.FromSlash(path)), path)
		for _, tg := range targets.Targets {
			if tg.Path != path {
				continue
			}
			fn := lookup(pkg, tg.Recv, tg.Name)
			if fn == nil {
				t.Errorf("%s: %v not declared in the stub", path, tg)
				continue
			}
			if tg.How == targets.StdioArg {
				params := fn.Signature().Params()
				if tg.Arg >= params.Len() || types.TypeString(params.At(tg.Arg).Type(), nil) != "io.Writer" {
					t.Errorf("%s.%s: argument %d is not an io.Writer", path, tg.Name, tg.Arg)
				}
			}
		}
	}
	for _, c := range targets.Ctors {
		pkg := load(t, filepath.Join(root, filepath.FromSlash(c.Path)), c.Path)
		if lookup(pkg, "", c.Name) == nil {
			t.Errorf("constructor %s.%s not declared in the stub", c.Path, c.Name)
		}
	}
}

func load(t *testing.T, dir, path string) *types.Package {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no stub for %s in %s", path, dir)
	}
	fset := token.NewFileSet()
	var syntax []*ast.File
	for _, name := range files {
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		syntax = append(syntax, f)
	}
	conf := types.Config{Importer: importer.Default()}
	pkg, err := conf.Check(path, fset, syntax, nil)
	if err != nil {
		t.Fatalf("type-check stub %s: %v", path, err)
	}
	return pkg
}

func lookup(pkg *types.Package, recv, name string) *types.Func {
	if recv == "" {
		fn, _ := pkg.Scope().Lookup(name).(*types.Func)
		return fn
	}
	tn, ok := pkg.Scope().Lookup(recv).(*types.TypeName)
	if !ok {
		return nil
	}
	obj, _, _ := types.LookupFieldOrMethod(types.NewPointer(tn.Type()), true, pkg, name)
	fn, _ := obj.(*types.Func)
	return fn
}

func TestLookup(t *testing.T) {
	if ts := targets.Lookup("github.com/k0kubun/pp/v2", "PrettyPrinter", "Println"); len(ts) != 1 || ts[0].Rule != targets.DumpCall {
		t.Errorf("pp/v2 PrettyPrinter.Println: %v", ts)
	}
	if ts := targets.Lookup("fmt", "", "Sprintln"); len(ts) != 0 {
		t.Errorf("fmt.Sprintln is no target: %v", ts)
	}
}
