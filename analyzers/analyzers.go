// Package analyzers is the set of toil's go/analysis analyzers that catch
// debug leftovers (stray prints, dumps, debugger calls), one package per
// rule in the style of golang.org/x/tools/go/analysis/passes, and the
// settings that choose and configure them.
//
// The same analyzers run under toil lint, go vet -vettool=$(which toil),
// the pre-commit hook and golangci-lint. Each rule honours the suppression
// directives itself (go vet has none); the directives analyzer reports the
// malformed and unused ones.
package analyzers

import (
	"github.com/toilhq/toil/analyzers/breakpoint"
	"github.com/toilhq/toil/analyzers/builtinprint"
	"github.com/toilhq/toil/analyzers/debugstack"
	"github.com/toilhq/toil/analyzers/directives"
	"github.com/toilhq/toil/analyzers/dumpcall"
	"github.com/toilhq/toil/analyzers/dumpimport"
	"github.com/toilhq/toil/analyzers/fmtprint"
	"github.com/toilhq/toil/analyzers/internal/targets"
	"github.com/toilhq/toil/analyzers/logdebug"
	"github.com/toilhq/toil/analyzers/stdoutwrite"
	"golang.org/x/tools/go/analysis"
)

// Rule describes one rule for help texts and SARIF rule tables.
type Rule struct {
	Name    string // as written in //toil:ignore, --enable and toil.yaml
	Default bool   // on unless disabled
	Doc     string // one line
	URL     string // documentation
}

// DirectivesName is the name of the analyzer reporting malformed and unused
// directives. It runs whenever any rule runs, unless disabled by name.
const DirectivesName = directives.Name

// ruleSpec ties a rule name to its constructor and default.
type ruleSpec struct {
	name string
	on   bool
	New  func() *analysis.Analyzer
}

// specs lists the rules in help order: default-on first.
var specs = []ruleSpec{
	{targets.Breakpoint, true, breakpoint.New},
	{targets.BuiltinPrint, true, builtinprint.New},
	{targets.DumpCall, true, dumpcall.New},
	{targets.FmtPrint, true, fmtprint.New},
	{targets.DebugStack, false, debugstack.New},
	{targets.StdoutWrite, false, stdoutwrite.New},
	{targets.LogDebug, false, logdebug.New},
	{targets.DumpImport, false, dumpimport.New},
}

// Rules describes every rule, then the directives checker, in help order.
func Rules() []Rule {
	all := All()
	rules := make([]Rule, 0, len(all))
	for i, a := range all {
		on := true
		if i < len(specs) {
			on = specs[i].on
		}
		rules = append(rules, Rule{Name: a.Name, Default: on, Doc: firstLine(a.Doc), URL: a.URL})
	}
	return rules
}

// All returns fresh instances of every rule, default-on and opt-in, followed
// by the directives checker requiring them all. Their flags are at their
// defaults. This is the set to hand go vet's unitchecker: every rule gets
// its -NAME flag; see Settings.Analyzers for a configured set.
func All() []*analysis.Analyzer {
	as := make([]*analysis.Analyzer, 0, len(specs)+1)
	for _, s := range specs {
		as = append(as, s.New())
	}
	return append(as, directives.New(as...))
}

func firstLine(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] == '\n' {
			return s[:i]
		}
	}
	return s
}

func directivesFor(rules []*analysis.Analyzer) *analysis.Analyzer {
	return directives.New(rules...)
}
