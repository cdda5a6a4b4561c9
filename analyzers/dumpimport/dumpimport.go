package dumpimport

import (
	_ "embed"
	"go/ast"
	"go/types"

	"github.com/toilhq/toil/analyzers/internal/rule"
	"github.com/toilhq/toil/analyzers/internal/targets"
	"golang.org/x/tools/go/analysis"
	"golang.org/x/tools/go/analysis/passes/inspect"
	"golang.org/x/tools/go/ast/inspector"
)

//go:embed doc.go
var doc string

// Analyzer reports imports of debug-dump libraries in library code.
var Analyzer = New()

// New returns a fresh dumpimport analyzer with its own flags.
func New() *analysis.Analyzer {
	a := rule.New(targets.DumpImport, doc)
	patterns := new(rule.Patterns)
	a.Flags.Var(patterns, "cmdpatterns", "comma-separated import path patterns of extra command packages (... matches any string)")
	a.Run = func(pass *analysis.Pass) (any, error) { return run(pass, patterns) }
	return a
}

func run(pass *analysis.Pass, patterns *rule.Patterns) (any, error) {
	p := rule.NewPass(pass, targets.DumpImport)
	files := p.Files()
	if rule.IsCommand(pass.Pkg.Path(), pass.Pkg.Name(), files, patterns) {
		return p.Result(), nil
	}
	insp, ok := pass.ResultOf[inspect.Analyzer].(*inspector.Inspector)
	if !ok {
		return p.Result(), nil
	}
	for _, f := range files {
		if f.Test {
			continue
		}
		for _, spec := range f.Syntax.Imports {
			path := rule.ImportPath(spec)
			if !targets.IsDumpLibrary(path) {
				continue
			}
			if spec.Name != nil && spec.Name.Name == "_" {
				continue // linked for its side effects; nothing dumps through it
			}
			if onlySafeUses(pass.TypesInfo, insp, f.Syntax, spec, path) {
				continue
			}
			p.Reportf(f.Syntax, spec, "import of debug-dump library %s in library code: debug leftover; only its string-returning functions belong here", path)
		}
	}
	return p.Result(), nil
}

// onlySafeUses reports whether every use of the import in file is a type,
// a Never target (string-returning or explicit writer), or a Never method
// selected on one of the package's variables.
func onlySafeUses(info *types.Info, insp *inspector.Inspector, file *ast.File, spec *ast.ImportSpec, path string) bool {
	fileCur, ok := insp.Root().FindNode(file)
	if !ok {
		return true
	}
	pkgName := info.PkgNameOf(spec)
	dot := spec.Name != nil && spec.Name.Name == "."
	safe := true
	for cur := range fileCur.Preorder((*ast.Ident)(nil)) {
		id := cur.Node().(*ast.Ident)
		var name string   // the package member used
		var next ast.Node // the selector around the member, if any
		switch {
		case !dot && pkgName != nil && info.Uses[id] == pkgName:
			sel, ok := cur.Parent().Node().(*ast.SelectorExpr)
			if !ok || sel.X != id {
				continue
			}
			name = sel.Sel.Name
			next = cur.Parent().Parent().Node()
			if s, ok := next.(*ast.SelectorExpr); ok && s.X == sel {
				next = s
			} else {
				next = nil
			}
		case dot:
			obj := info.Uses[id]
			if obj == nil || obj.Pkg() == nil || obj.Pkg().Path() != path || obj.Parent() != obj.Pkg().Scope() {
				continue
			}
			name = id.Name
			if s, ok := cur.Parent().Node().(*ast.SelectorExpr); ok && s.X == id {
				next = s
			}
		default:
			continue
		}
		if !safeMember(info, path, name, next, member(info, cur)) {
			safe = false
			break
		}
	}
	return safe
}

// member returns the object the identifier at cur (the package name of a
// selector, or a dot-imported name) refers to, when types are loaded.
func member(info *types.Info, cur inspector.Cursor) types.Object {
	if sel, ok := cur.Parent().Node().(*ast.SelectorExpr); ok && sel.X == cur.Node() {
		return info.Uses[sel.Sel]
	}
	return info.Uses[cur.Node().(*ast.Ident)]
}

func safeMember(info *types.Info, path, name string, next ast.Node, obj types.Object) bool {
	if isNever(path, "", name) {
		return true
	}
	if ts := targets.Lookup(path, "", name); len(ts) > 0 {
		return false // a dumping function
	}
	if _, ok := obj.(*types.TypeName); ok || isTypeName(path, name) {
		return true
	}
	// A package variable: safe only when a Never method is selected on it
	// (spew.Config.Sdump).
	if sel, ok := next.(*ast.SelectorExpr); ok {
		for _, t := range targets.Targets {
			if t.Path == path && t.Recv != "" && t.Name == sel.Sel.Name && t.How == targets.Never {
				return true
			}
		}
	}
	return false
}

func isNever(path, recv, name string) bool {
	for _, t := range targets.Lookup(path, recv, name) {
		if t.How == targets.Never {
			return true
		}
	}
	return false
}

// isTypeName reports whether name is a type of the package according to
// the table's receivers, which holds even when its types are not loaded.
func isTypeName(path, name string) bool {
	for _, t := range targets.Targets {
		if t.Path == path && t.Recv == name {
			return true
		}
	}
	return false
}
