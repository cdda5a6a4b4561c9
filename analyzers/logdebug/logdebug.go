package logdebug

import (
	_ "embed"
	"go/ast"
	"go/constant"
	"strings"
	"unicode"

	"github.com/toilhq/toil/analyzers/internal/rule"
	"github.com/toilhq/toil/analyzers/internal/targets"
	"golang.org/x/tools/go/analysis"
	"golang.org/x/tools/go/ast/inspector"
)

//go:embed doc.go
var doc string

// Analyzer reports log.Print* calls whose constant message starts with a
// debug marker.
var Analyzer = New()

// New returns a fresh logdebug analyzer with its own flags.
func New() *analysis.Analyzer {
	a := rule.New(targets.LogDebug, doc)
	patterns := new(rule.Patterns)
	a.Flags.Var(patterns, "cmdpatterns", "comma-separated import path patterns of extra command packages (... matches any string)")
	a.Run = func(pass *analysis.Pass) (any, error) { return run(pass, patterns) }
	return a
}

func run(pass *analysis.Pass, patterns *rule.Patterns) (any, error) {
	p := rule.NewPass(pass, targets.LogDebug)
	files := p.Files()
	if rule.IsCommand(pass.Pkg.Path(), pass.Pkg.Name(), files, patterns) {
		return p.Result(), nil
	}
	p.EachCall(files, func(f rule.File, cur inspector.Cursor, call *ast.CallExpr) {
		if f.Test || len(call.Args) == 0 {
			return
		}
		_, key, ok := rule.Matches(pass.TypesInfo, call, targets.LogDebug)
		if !ok {
			return
		}
		tv, ok := pass.TypesInfo.Types[call.Args[0]]
		if !ok || tv.Value == nil || tv.Value.Kind() != constant.String {
			return // only constant messages say what the author meant
		}
		marker := Marker(constant.StringVal(tv.Value))
		if marker == "" {
			return
		}
		p.ReportCall(f.Syntax, cur, rule.CalleeName(key)+" with debug marker "+`"`+marker+`"`+": debug leftover; delete it, or use slog's Debug level", true)
	})
	return p.Result(), nil
}

// Marker returns the debug marker msg starts with, or "".
func Marker(msg string) string {
	s := strings.TrimLeft(msg, " \t")
	s = strings.TrimPrefix(s, "[")
	for _, m := range []string{">>>", "!!!", "==="} {
		if strings.HasPrefix(s, m) {
			return m
		}
	}
	word := func(w string) bool {
		if !strings.HasPrefix(s, w) {
			return false
		}
		// A whole word only: "Debugger attached" and "HEREDOC" are not markers.
		rest := s[len(w):]
		return rest == "" || !unicode.IsLetter(rune(rest[0]))
	}
	switch {
	case word("DEBUG"):
		return "DEBUG"
	case len(s) >= 6 && strings.EqualFold(s[:6], "debug:"):
		return s[:6]
	case word("XXX"):
		return "XXX"
	case word("HERE"):
		return "HERE"
	}
	return ""
}
