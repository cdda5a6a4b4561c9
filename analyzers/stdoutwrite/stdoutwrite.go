package stdoutwrite

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

// Analyzer reports writes to os.Stdout and os.Stderr in library code.
var Analyzer = New()

// New returns a fresh stdoutwrite analyzer with its own flags.
func New() *analysis.Analyzer {
	a := rule.New(targets.StdoutWrite, doc)
	patterns := new(rule.Patterns)
	a.Flags.Var(patterns, "cmdpatterns", "comma-separated import path patterns of extra command packages, where writing to stdout is allowed (... matches any string)")
	a.Run = func(pass *analysis.Pass) (any, error) { return run(pass, patterns) }
	return a
}

func run(pass *analysis.Pass, patterns *rule.Patterns) (any, error) {
	p := rule.NewPass(pass, targets.StdoutWrite)
	files := p.Files()
	if rule.IsCommand(pass.Pkg.Path(), pass.Pkg.Name(), files, patterns) {
		return p.Result(), nil
	}
	p.EachCall(files, func(f rule.File, cur inspector.Cursor, call *ast.CallExpr) {
		if f.Test {
			return
		}
		t, key, ok := rule.Matches(pass.TypesInfo, call, targets.StdoutWrite)
		if !ok || rule.DebugGated(cur) || p.Deliberate(cur) {
			return // output a user switches on, or that the code around it shows is meant
		}
		var msg string
		if t.How == targets.StdioRecv {
			msg = "os." + stream(pass, call) + "." + key.Name + " in library code: take an io.Writer or log"
		} else {
			msg = rule.CalleeName(key) + " to os." + stream(pass, call.Args[t.Arg]) + " in library code: take an io.Writer or log"
		}
		p.Reportf(f.Syntax, call, "%s", msg)
	})
	return p.Result(), nil
}

// stream names the standard stream e (or a call's receiver) refers to.
func stream(pass *analysis.Pass, e ast.Expr) string {
	if call, ok := e.(*ast.CallExpr); ok {
		if sel, ok := ast.Unparen(call.Fun).(*ast.SelectorExpr); ok {
			e = sel.X
		}
	}
	switch e := ast.Unparen(e).(type) {
	case *ast.SelectorExpr:
		return e.Sel.Name
	case *ast.Ident:
		return e.Name
	}
	return "Stdout"
}
