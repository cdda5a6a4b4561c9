package breakpoint

import (
	_ "embed"
	"go/ast"

	"github.com/toilhq/toil/analyzers/internal/rule"
	"github.com/toilhq/toil/analyzers/internal/targets"
	"golang.org/x/tools/go/analysis"
	"golang.org/x/tools/go/ast/inspector"
)

//go:embed doc.go
var doc string

// Analyzer reports runtime.Breakpoint calls.
var Analyzer = New()

// New returns a fresh breakpoint analyzer; it has no flags, New exists so
// that every rule is built the same way.
func New() *analysis.Analyzer {
	a := rule.New(targets.Breakpoint, doc)
	a.Run = run
	return a
}

func run(pass *analysis.Pass) (any, error) {
	p := rule.NewPass(pass, targets.Breakpoint)
	p.EachCall(p.Files(), func(f rule.File, cur inspector.Cursor, call *ast.CallExpr) {
		if _, _, ok := rule.Matches(pass.TypesInfo, call, targets.Breakpoint); !ok {
			return
		}
		p.ReportCall(f.Syntax, cur, "runtime.Breakpoint call left in code: it traps with SIGTRAP when no debugger is attached", true)
	})
	return p.Result(), nil
}
