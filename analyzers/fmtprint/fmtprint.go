package fmtprint

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

// Analyzer reports fmt.Print, Printf and Println in library code, with
// default settings.
var Analyzer = New()

// New returns a fresh fmtprint analyzer with its own flags, so that runs
// configured differently share nothing.
func New() *analysis.Analyzer {
	a := rule.New(targets.FmtPrint, doc)
	patterns := new(rule.Patterns)
	a.Flags.Var(patterns, "cmdpatterns", "comma-separated import path patterns of extra command packages, where printing is allowed (... matches any string)")
	a.Run = func(pass *analysis.Pass) (any, error) { return run(pass, patterns) }
	return a
}

func run(pass *analysis.Pass, patterns *rule.Patterns) (any, error) {
	p := rule.NewPass(pass, targets.FmtPrint)
	files := p.Files()
	if rule.IsCommand(pass.Pkg.Path(), pass.Pkg.Name(), files, patterns) {
		return p.Result(), nil // a command's printing is its output
	}
	p.EachCall(files, func(f rule.File, cur inspector.Cursor, call *ast.CallExpr) {
		if f.Test {
			return // tests and examples print on purpose
		}
		_, key, ok := rule.Matches(pass.TypesInfo, call, targets.FmtPrint)
		if !ok || rule.DebugGated(cur) || p.Deliberate(cur) {
			return // output a user switches on, or that the code around it shows is meant
		}
		p.ReportCall(f.Syntax, cur, rule.CalleeName(key)+" call in library code: return the text, take an io.Writer or log; printing is for command packages", true)
	})
	return p.Result(), nil
}
