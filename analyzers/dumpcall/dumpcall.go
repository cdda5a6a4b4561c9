package dumpcall

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

// Analyzer reports debug-dump calls that write to stdout or stderr, with
// default settings.
var Analyzer = New()

// New returns a fresh dumpcall analyzer with its own flags.
func New() *analysis.Analyzer {
	a := rule.New(targets.DumpCall, doc)
	cfg := &config{patterns: new(rule.Patterns)}
	a.Flags.BoolVar(&cfg.tests, "tests", false, "also report dump calls in _test.go files")
	a.Flags.Var(cfg.patterns, "cmdpatterns", "comma-separated import path patterns of extra command packages, where pp output is allowed (... matches any string)")
	a.Run = func(pass *analysis.Pass) (any, error) { return run(pass, cfg) }
	return a
}

type config struct {
	tests    bool
	patterns *rule.Patterns
}

var ppPaths = map[string]bool{targets.PP: true, targets.PPv2: true, targets.PPv3: true}

func run(pass *analysis.Pass, cfg *config) (any, error) {
	p := rule.NewPass(pass, targets.DumpCall)
	files := p.Files()
	command := rule.IsCommand(pass.Pkg.Path(), pass.Pkg.Name(), files, cfg.patterns)
	p.EachCall(files, func(f rule.File, cur inspector.Cursor, call *ast.CallExpr) {
		if f.Test && !cfg.tests {
			return
		}
		_, key, ok := rule.Matches(pass.TypesInfo, call, targets.DumpCall)
		if !ok {
			return
		}
		if command && ppPaths[key.Path] {
			return // pp is a CLI's pretty printer as often as a debug aid
		}
		if rule.InExample(cur) {
			return // an example's output is checked against its // Output:
		}
		p.ReportCall(f.Syntax, cur, rule.CalleeName(key)+" call dumps to "+dest(pass, call, key)+": debug leftover; delete it, or keep the text with a string-returning form", true)
	})
	return p.Result(), nil
}

// dest names where the call writes.
func dest(pass *analysis.Pass, call *ast.CallExpr, key targets.Key) string {
	for _, t := range targets.Lookup(key.Path, key.Recv, key.Name) {
		if t.Rule == targets.DumpCall && t.How == targets.StdioArg && t.Arg < len(call.Args) {
			switch e := ast.Unparen(call.Args[t.Arg]).(type) {
			case *ast.SelectorExpr:
				if e.Sel.Name == targets.Stderr {
					return "stderr"
				}
			case *ast.Ident: // dot import of os
				if e.Name == targets.Stderr {
					return "stderr"
				}
			}
		}
	}
	if key.Path == targets.KrPretty && (key.Name == "Log" || key.Name == "Logf" || key.Name == "Logln") {
		return "the standard logger"
	}
	return "stdout"
}
