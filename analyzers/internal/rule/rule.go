// Package rule is what toil's rule analyzers share: the per-rule pass that
// honours suppression directives and records the ones it used, the
// command-package and file exemptions, callee resolution against the targets
// table, and the delete-the-call suggested fix.
package rule

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"reflect"
	"strings"

	"github.com/toilhq/toil/analyzers/internal/directive"
	"github.com/toilhq/toil/analyzers/internal/targets"
	"golang.org/x/tools/go/analysis"
	"golang.org/x/tools/go/analysis/passes/inspect"
	"golang.org/x/tools/go/ast/inspector"
)

// Names lists every rule, default-on first, in the order --help shows them.
var Names = []string{
	targets.Breakpoint, targets.BuiltinPrint, targets.DumpCall, targets.FmtPrint,
	targets.DebugStack, targets.StdoutWrite, targets.LogDebug, targets.DumpImport,
}

// Known reports whether name is a rule.
func Known(name string) bool {
	for _, n := range Names {
		if n == name {
			return true
		}
	}
	return false
}

// Result is the result of every rule analyzer: which directives suppressed
// at least one of its findings, so that the directives analyzer can report
// the others as unused.
type Result struct {
	Rule string
	Used map[token.Pos]bool // keyed by the directive comment's Pos
}

// ResultType is the analysis.Analyzer.ResultType of every rule analyzer.
var ResultType = reflect.TypeOf((*Result)(nil))

// URL is the documentation page of rule.
func URL(rule string) string {
	return "https://pkg.go.dev/github.com/toilhq/toil/analyzers/" + rule
}

// Pass is an analysis.Pass for one rule: its Report applies suppression.
type Pass struct {
	*analysis.Pass
	Rule   string
	result *Result
	dirs   map[*ast.File][]directive.Found
	uses   map[*ast.File]*fileUses
}

// NewPass starts a rule's run on pass.
func NewPass(pass *analysis.Pass, rule string) *Pass {
	return &Pass{
		Pass:   pass,
		Rule:   rule,
		result: &Result{Rule: rule, Used: map[token.Pos]bool{}},
		dirs:   map[*ast.File][]directive.Found{},
	}
}

// Result is what the rule analyzer's Run returns.
func (p *Pass) Result() *Result { return p.result }

// Report reports d, found in file, unless a directive suppresses it. The
// message gets the rule name appended, " [rule]", because go vet and
// golangci-lint show only the message and users need the name to write a
// directive; Category is the rule name.
func (p *Pass) Report(file *ast.File, d analysis.Diagnostic) {
	if p.suppressed(file, d.Pos) {
		return
	}
	d.Category = p.Rule
	d.URL = URL(p.Rule)
	d.Message += " [" + p.Rule + "]"
	p.Pass.Report(d)
}

// Reportf is Report with a formatted message and no fix.
func (p *Pass) Reportf(file *ast.File, node ast.Node, format string, args ...any) {
	p.Report(file, analysis.Diagnostic{Pos: node.Pos(), End: node.End(), Message: fmt.Sprintf(format, args...)})
}

func (p *Pass) suppressed(file *ast.File, pos token.Pos) bool {
	found, ok := p.dirs[file]
	if !ok {
		found = directive.Scan(p.Fset, file)
		p.dirs[file] = found
	}
	if len(found) == 0 {
		return false
	}
	line := p.Fset.Position(pos).Line
	hit := false
	for i := range found {
		if found[i].Covers(p.Rule, line) {
			// Every directive covering the finding counts as used, so that
			// none of them is reported as stale.
			p.result.Used[found[i].Pos] = true
			hit = true
		}
	}
	return hit
}

// File is one file of the package with the facts exemptions depend on.
type File struct {
	Syntax    *ast.File
	Name      string // file name as the token.File has it
	Test      bool   // a _test.go file
	Generated bool   // has a "Code generated ... DO NOT EDIT." header
}

// Files lists the package's files, generated ones excluded: nobody edits them,
// so a finding there cannot be fixed by its reader.
func (p *Pass) Files() []File {
	var files []File
	for _, f := range p.Pass.Files {
		tf := p.Fset.File(f.Pos())
		if tf == nil {
			continue // no position information: nothing to report against
		}
		if ast.IsGenerated(f) {
			continue
		}
		name := tf.Name()
		files = append(files, File{Syntax: f, Name: name, Test: strings.HasSuffix(name, "_test.go")})
	}
	return files
}

// MustExtractDoc returns the documentation of analyzer name from the package
// doc comment of doc.go's content, in the x/tools "# Analyzer name" format:
// the text after "name: " in the section headed "Analyzer name".
func MustExtractDoc(content, name string) string {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "doc.go", content, parser.ParseComments|parser.PackageClauseOnly)
	if err != nil || f.Doc == nil {
		panic(fmt.Sprintf("doc.go of %s: no package doc comment", name))
	}
	for _, section := range strings.Split(f.Doc.Text(), "\n# ") {
		body, ok := strings.CutPrefix(section, "Analyzer "+name+"\n")
		if !ok {
			continue
		}
		body = strings.TrimSpace(body)
		rest, ok := strings.CutPrefix(body, name+":")
		if !ok {
			panic(fmt.Sprintf("doc.go of %s: heading not followed by %q", name, name+": summary"))
		}
		return strings.TrimSpace(rest)
	}
	panic(fmt.Sprintf("doc.go of %s: no %q heading", name, "# Analyzer "+name))
}

// EachCall calls fn for every call expression in files, in source order.
func (p *Pass) EachCall(files []File, fn func(f File, cur inspector.Cursor, call *ast.CallExpr)) {
	insp, ok := p.ResultOf[inspect.Analyzer].(*inspector.Inspector)
	if !ok {
		return
	}
	byFile := make(map[*ast.File]File, len(files))
	for _, f := range files {
		byFile[f.Syntax] = f
	}
	for fc := range insp.Root().Preorder((*ast.File)(nil)) {
		f, ok := byFile[fc.Node().(*ast.File)]
		if !ok {
			continue // generated
		}
		for cur := range fc.Preorder((*ast.CallExpr)(nil)) {
			fn(f, cur, cur.Node().(*ast.CallExpr))
		}
	}
}

// New returns an analyzer for rule with the fields every rule shares; the
// caller adds flags and sets Run.
func New(name, doc string) *analysis.Analyzer {
	return &analysis.Analyzer{
		Name:       name,
		Doc:        MustExtractDoc(doc, name),
		URL:        URL(name),
		Requires:   []*analysis.Analyzer{inspect.Analyzer},
		ResultType: ResultType,
		// A package with type errors is still worth checking: toil lint
		// type-checks against stubs, and every lookup here tolerates
		// missing types.
		RunDespiteErrors: true,
	}
}
