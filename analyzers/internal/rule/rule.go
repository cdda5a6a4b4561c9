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
	dirs   map[*ast.File]*index
	uses   map[*ast.File]*fileUses
	cgo    map[*ast.File]bool
	facts  map[ast.Node]*funcFacts // by function, for Deliberate
}

// NewPass starts a rule's run on pass.
func NewPass(pass *analysis.Pass, rule string) *Pass {
	return &Pass{
		Pass:   pass,
		Rule:   rule,
		result: &Result{Rule: rule, Used: map[token.Pos]bool{}},
		dirs:   map[*ast.File]*index{},
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
	p.report(d)
}

func (p *Pass) report(d analysis.Diagnostic) {
	d.Category = p.Rule
	d.URL = URL(p.Rule)
	d.Message += " [" + p.Rule + "]"
	p.Pass.Report(d)
}

// ReportCall reports the call at cur, found in file, with message, and, when
// fix is set, the suggested fix deleting it; the fix is only worked out for
// findings that are not suppressed.
func (p *Pass) ReportCall(file *ast.File, cur inspector.Cursor, message string, fix bool) {
	call := cur.Node()
	if p.suppressed(file, call.Pos()) {
		return
	}
	d := analysis.Diagnostic{Pos: call.Pos(), End: call.End(), Message: message}
	if fix {
		d.SuggestedFixes = p.DeleteCall(file, cur)
	}
	p.report(d)
}

// Reportf is Report with a formatted message and no fix.
func (p *Pass) Reportf(file *ast.File, node ast.Node, format string, args ...any) {
	p.Report(file, analysis.Diagnostic{Pos: node.Pos(), End: node.End(), Message: fmt.Sprintf(format, args...)})
}

func (p *Pass) suppressed(file *ast.File, pos token.Pos) bool {
	idx, ok := p.dirs[file]
	if !ok {
		idx = newIndex(directive.Scan(p.Fset, file))
		p.dirs[file] = idx
	}
	if idx == nil {
		return false
	}
	// Raw lines, as directive.Scan counts them: cgo output carries //line
	// directives that would shift one and not the other.
	line := p.Fset.PositionFor(pos, false).Line
	hit := false
	for _, f := range idx.byLine[line] {
		if f.Covers(p.Rule, line) {
			// Every directive covering the finding counts as used, so that
			// none of them is reported as stale.
			p.result.Used[f.Pos] = true
			hit = true
		}
	}
	return hit
}

// index finds the directives covering a line without scanning them all:
// a file can hold thousands of findings and directives.
type index struct {
	byLine map[int][]*directive.Found
}

func newIndex(found []directive.Found) *index {
	if len(found) == 0 {
		return nil
	}
	idx := &index{byLine: map[int][]*directive.Found{}}
	var fileWide []*directive.Found
	maxLine := 0
	for i := range found {
		f := &found[i]
		if f.Kind == directive.FileIgnore {
			fileWide = append(fileWide, f)
			maxLine = max(maxLine, f.To)
			continue
		}
		for l := f.From; l <= f.To; l++ {
			idx.byLine[l] = append(idx.byLine[l], f)
		}
	}
	if len(fileWide) > 0 {
		// Few files have a file-ignore; those that do are indexed per line
		// too, keeping the lookup a single map access.
		for l := 1; l <= maxLine; l++ {
			idx.byLine[l] = append(idx.byLine[l], fileWide...)
		}
	}
	return idx
}

// File is one file of the package with the facts exemptions depend on.
type File struct {
	Syntax *ast.File
	Name   string // file name as the token.File has it
	Test   bool   // a _test.go file
	Cgo    bool   // cmd/cgo's rewrite of a user's file: checked, never fixed
}

// Generated reports whether f is a generated file to skip: it has a
// "Code generated ... DO NOT EDIT." header and is not cmd/cgo's rewrite of
// a user's file (go vet and go/packages hand analyzers those rewrites in
// place of the files that import "C"; skipping them would hide every
// finding in such files).
func Generated(f *ast.File) bool {
	return ast.IsGenerated(f) && !IsCgoOutput(f)
}

// IsCgoOutput reports whether f was written by cmd/cgo.
func IsCgoOutput(f *ast.File) bool {
	for _, g := range f.Comments {
		if g.Pos() >= f.Package {
			break
		}
		for _, c := range g.List {
			if c.Text == "// Code generated by cmd/cgo; DO NOT EDIT." {
				return true
			}
		}
	}
	return false
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
		if Generated(f) {
			continue
		}
		name := tf.Name()
		cgo := IsCgoOutput(f)
		if cgo {
			if p.cgo == nil {
				p.cgo = map[*ast.File]bool{}
			}
			p.cgo[f] = true
		}
		files = append(files, File{Syntax: f, Name: name, Test: strings.HasSuffix(name, "_test.go"), Cgo: cgo})
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
