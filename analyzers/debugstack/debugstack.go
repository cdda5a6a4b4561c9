package debugstack

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

// Analyzer reports debug.PrintStack calls outside recover handlers.
var Analyzer = New()

// New returns a fresh debugstack analyzer with its own flags.
func New() *analysis.Analyzer {
	a := rule.New(targets.DebugStack, doc)
	patterns := new(rule.Patterns)
	a.Flags.Var(patterns, "cmdpatterns", "comma-separated import path patterns of extra command packages (... matches any string)")
	a.Run = func(pass *analysis.Pass) (any, error) { return run(pass, patterns) }
	return a
}

func run(pass *analysis.Pass, patterns *rule.Patterns) (any, error) {
	p := rule.NewPass(pass, targets.DebugStack)
	files := p.Files()
	if rule.IsCommand(pass.Pkg.Path(), pass.Pkg.Name(), files, patterns) {
		return p.Result(), nil
	}
	p.EachCall(files, func(f rule.File, cur inspector.Cursor, call *ast.CallExpr) {
		if f.Test {
			return
		}
		if _, _, ok := rule.Matches(pass.TypesInfo, call, targets.DebugStack); !ok {
			return
		}
		if inRecoverHandler(pass.TypesInfo, cur) || rule.DebugGated(cur) {
			return
		}
		p.Reportf(f.Syntax, call, "debug.PrintStack call outside a recover handler: debug leftover; log debug.Stack() if the trace is wanted")
	})
	return p.Result(), nil
}

// inRecoverHandler reports whether the innermost function around cur calls
// the builtin recover: the usual deferred crash handler.
func inRecoverHandler(info *types.Info, cur inspector.Cursor) bool {
	for fn := range cur.Enclosing((*ast.FuncDecl)(nil), (*ast.FuncLit)(nil)) {
		found := false
		ast.Inspect(fn.Node(), func(n ast.Node) bool {
			if call, ok := n.(*ast.CallExpr); ok {
				if b, ok := typeutil.Callee(info, call).(*types.Builtin); ok && b.Name() == "recover" {
					found = true
				}
			}
			return !found
		})
		return found
	}
	return false
}
