package builtinprint

import (
	_ "embed"
	"go/ast"
	"go/types"

	"github.com/toilhq/toil/analyzers/internal/rule"
	"github.com/toilhq/toil/analyzers/internal/targets"
	"golang.org/x/tools/go/analysis"
	"golang.org/x/tools/go/ast/inspector"
	"golang.org/x/tools/go/types/typeutil"
)

//go:embed doc.go
var doc string

// Analyzer reports calls of the builtin print and println.
var Analyzer = New()

// New returns a fresh builtinprint analyzer.
func New() *analysis.Analyzer {
	a := rule.New(targets.BuiltinPrint, doc)
	a.Run = run
	return a
}

func run(pass *analysis.Pass) (any, error) {
	p := rule.NewPass(pass, targets.BuiltinPrint)
	p.EachCall(p.Files(), func(f rule.File, cur inspector.Cursor, call *ast.CallExpr) {
		// Only the universe's builtin: a user's func print is a *types.Func.
		b, ok := typeutil.Callee(pass.TypesInfo, call).(*types.Builtin)
		if !ok || (b.Name() != "print" && b.Name() != "println") {
			return
		}
		p.ReportCall(f.Syntax, cur, "builtin "+b.Name()+" call left in code: it writes to stderr, unbuffered; use a logger or delete it", true)
	})
	return p.Result(), nil
}
