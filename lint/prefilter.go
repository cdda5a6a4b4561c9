package lint

import (
	"flag"
	"go/ast"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/tools/go/analysis"

	"github.com/toilhq/toil/analyzers"
	"github.com/toilhq/toil/lint/stubs"
)

// prefilter tells, from a unit's syntax alone, that no analyzer can report
// anything in it, so that the unit need not be type-checked or analysed:
// most packages of a real module never call a print, dump or debugger
// function, and type-checking them was most of toil lint's time.
//
// It keeps a unit when one of its files that a running rule looks at
// (generated files never; _test.go files and command packages only for the
// rules that report there) has
//
//   - a call whose callee is a bare or selected name (through parentheses
//     and generic instantiation) that the rule matches, resolvable to it:
//     for a function, selected from the name under which the file imports
//     its package, or bare with the package dot-imported; for a method,
//     selected from anything, with some file importing a stubbed package
//     whose stubs lead to the receiver's package (nothing else has types in
//     toil lint);
//   - a call of the bare name print or println, for builtinprint;
//   - an import of a dump library, for dumpimport;
//   - a comment that may be a directive the directives checker reports.
//
// Every finding is reported at one of these: the rules match calls by the
// *types.Func they resolve to, whose name is the identifier written in the
// call, and report imports and directive comments as such. So a dropped
// unit provably has no finding; TestPrefilterDropsNoFinding checks it on
// every analyzer's testdata and on the benchmark module.
type prefilter struct {
	// gates lists, per called name, how a call of it can be a finding.
	gates map[string][]gate
	// scopes says where each running rule reports.
	scopes map[string]scope
	// dumpImports are the dump libraries, when dumpimport runs.
	dumpImports []string
	// directives is set when the directives checker runs.
	directives bool
	// ruleNames are the names a directive can give, lower-case.
	ruleNames []string
}

// gate is one way a call of a name can be a finding of rule: the calling
// file (for a function) or any file of the unit (for a method) imports path.
type gate struct {
	rule   string
	path   string // "" for builtins: no import needed
	method bool
}

// scope is where a rule reports.
type scope struct {
	tests    bool // in _test.go files
	commands bool // in packages named main or cmd, or with a cmd path element
}

// builtinPrints are the builtins builtinprint reports; they are not in the
// targets table, which lists package members.
var builtinPrints = []string{"print", "println"}

// libraryOnly mirrors the analyzers' exemptions: the rules that skip
// _test.go files and return early in command packages. Any other rule, or
// a rule with a flag the prefilter does not know, reports everywhere.
var libraryOnly = map[string]bool{
	"fmtprint": true, "debugstack": true, "stdoutwrite": true, "logdebug": true, "dumpimport": true,
}

// newPrefilter builds the prefilter for the analyzers to run, or returns
// nil when one of them is not a toil rule (its findings cannot be
// predicted, so every unit is analysed).
func newPrefilter(as []*analysis.Analyzer) *prefilter {
	p := &prefilter{gates: map[string][]gate{}, scopes: map[string]scope{}}
	rules := map[string]bool{}
	for _, r := range analyzers.Rules() {
		rules[r.Name] = true
		p.ruleNames = append(p.ruleNames, r.Name)
	}
	for _, a := range as {
		switch {
		case a.Name == analyzers.DirectivesName:
			p.directives = true
		case rules[a.Name]:
			p.scopes[a.Name] = scopeOf(a)
		default:
			return nil
		}
	}
	if _, ok := p.scopes["builtinprint"]; ok {
		for _, name := range builtinPrints {
			p.gates[name] = append(p.gates[name], gate{rule: "builtinprint"})
		}
	}
	if _, ok := p.scopes["dumpimport"]; ok {
		p.dumpImports = analyzers.DumpLibraries()
	}
	reach := stubReach()
	for _, t := range analyzers.Targets() {
		if _, ok := p.scopes[t.Rule]; !ok || t.Never {
			continue
		}
		if t.Recv == "" {
			p.addGate(t.Name, gate{rule: t.Rule, path: t.Path})
			continue
		}
		// A method of a package without a stub resolves nowhere: reach
		// has no entry for it.
		for _, path := range reach[t.Path] {
			p.addGate(t.Name, gate{rule: t.Rule, path: path, method: true})
		}
	}
	return p
}

func (p *prefilter) addGate(name string, g gate) {
	if !slices.Contains(p.gates[name], g) {
		p.gates[name] = append(p.gates[name], g)
	}
}

// scopeOf returns where rule analyzer a reports, given its flags:
// -dumpcall.tests makes dumpcall report in tests; -cmdpatterns only adds
// exemptions; any other flag could widen the rule, so it reports everywhere.
func scopeOf(a *analysis.Analyzer) scope {
	s := scope{tests: true, commands: true}
	if libraryOnly[a.Name] {
		s = scope{}
	}
	if a.Name == "dumpcall" {
		s.tests = false
	}
	a.Flags.VisitAll(func(f *flag.Flag) {
		switch {
		case f.Name == "cmdpatterns":
		case f.Name == "tests" && a.Name == "dumpcall":
			if f.Value.String() == "true" {
				s.tests = true
			}
		default:
			s = scope{tests: true, commands: true}
		}
	})
	return s
}

// stubReach maps each stubbed package to the stubbed packages whose types
// can reach it: itself and every stub importing it, directly or not.
func stubReach() map[string][]string {
	reach := map[string][]string{}
	for _, from := range stubs.Paths() {
		seen := map[string]bool{}
		var walk func(path string)
		walk = func(path string) {
			if seen[path] {
				return
			}
			seen[path] = true
			reach[path] = append(reach[path], from)
			dep, err := (stubs.Importer{}).Import(path)
			if err != nil {
				// A broken stub fails every type-check alike; reaching every
				// stub from it keeps the prefilter conservative.
				for _, to := range stubs.Paths() {
					if !seen[to] {
						seen[to] = true
						reach[to] = append(reach[to], from)
					}
				}
				return
			}
			for _, imp := range dep.Imports() {
				walk(imp.Path())
			}
		}
		walk(from)
	}
	return reach
}

// unitFilter is the prefilter applied to one unit, file by file, so that
// the engine can strip a file's bodies as soon as it is parsed (see
// checkUnit): what a file's calls can resolve to depends on the unit only
// through its package name and the imports of all its files.
type unitFilter struct {
	p       *prefilter
	command bool
	// imports are every file's import paths: methods are reached through
	// values whose types any file may import; functions only through the
	// calling file's import.
	imports map[string]bool
	// broken is set when an import path does not unquote: not for the
	// prefilter to judge, so every file may report.
	broken bool
}

// unit returns the filter for the unit importPath whose files' package
// clauses and imports are headers (parsed with parser.ImportsOnly, or
// whole).
func (p *prefilter) unit(importPath string, headers []*ast.File) *unitFilter {
	u := &unitFilter{p: p, imports: map[string]bool{}}
	if len(headers) > 0 {
		pkg := headers[0].Name.Name
		u.command = pkg == "main" || pkg == "cmd" || slices.Contains(strings.Split(importPath, "/"), "cmd")
	}
	for _, f := range headers {
		for _, spec := range f.Imports {
			path, err := strconv.Unquote(spec.Path.Value)
			if err != nil {
				u.broken = true
				continue
			}
			u.imports[path] = true
		}
	}
	return u
}

// reports tells whether a finding may be reported in the unit's file f,
// parsed from name. A unit where no file may report need not be
// type-checked; a file where none may, only without its function bodies
// (see stripBodies).
func (u *unitFilter) reports(name string, f *ast.File) bool {
	p := u.p
	if u.broken {
		return true
	}
	if generated(f) {
		return false // every rule and the directives checker skip them
	}
	fs := fileScope{paths: map[string]bool{}, names: map[string][]string{}, dots: map[string]bool{}}
	for _, spec := range f.Imports {
		path, err := strconv.Unquote(spec.Path.Value)
		if err != nil {
			return true // not for the prefilter to judge
		}
		fs.paths[path] = true
		switch {
		case spec.Name == nil:
			// go/types names the import after the package clause of
			// what it imports: for a target package, its stub.
			if name := stubs.Name(path); name != "" {
				fs.names[name] = append(fs.names[name], path)
			}
		case spec.Name.Name == ".":
			fs.dots[path] = true
		case spec.Name.Name != "_":
			fs.names[spec.Name.Name] = append(fs.names[spec.Name.Name], path)
		}
	}
	test := strings.HasSuffix(name, "_test.go")
	command := u.command
	if p.directives && p.hasDirectiveComment(f) {
		return true
	}
	if len(p.dumpImports) > 0 && !test && p.in("dumpimport", test, command) {
		for path := range fs.paths {
			if slices.Contains(p.dumpImports, path) {
				return true
			}
		}
	}
	candidate := func(name string, x ast.Expr) bool {
		for _, g := range p.gates[name] {
			if !p.in(g.rule, test, command) {
				continue
			}
			switch {
			case g.path == "":
				if x == nil {
					return true // a builtin is only ever called by its bare name
				}
			case g.method:
				if u.imports[g.path] {
					return true
				}
			case x == nil:
				if fs.dots[g.path] {
					return true
				}
			default:
				// A package-level function is named through the
				// package: X must be the file's name for the import.
				if id, ok := x.(*ast.Ident); ok && slices.Contains(fs.names[id.Name], g.path) {
					return true
				}
			}
		}
		return false
	}
	return callsName(f, candidate)
}

// in reports whether rule runs and reports in a file of this kind.
func (p *prefilter) in(rule string, test, command bool) bool {
	s, ok := p.scopes[rule]
	return ok && (!test || s.tests) && (!command || s.commands)
}

// generated mirrors the rules' test for files to skip: a "Code generated
// ... DO NOT EDIT." header, unless cmd/cgo wrote it (the engine never sees
// cgo's output, but the rules make that exception).
func generated(f *ast.File) bool {
	if !ast.IsGenerated(f) {
		return false
	}
	for _, g := range f.Comments {
		if g.Pos() >= f.Package {
			break
		}
		for _, c := range g.List {
			if strings.Contains(c.Text, "cmd/cgo") {
				return false
			}
		}
	}
	return true
}

// hasDirectiveComment reports whether f has a comment that may be a
// directive the directives checker reports: any //toil: comment, spaced
// near-misses included, and the //nolint comments naming one of toil's rules
// (nolint names are case-insensitive). A //nolint for other linters, or a
// bare one, is golangci-lint's business and never reported; it only
// suppresses, and there is nothing to suppress without a candidate call.
// This is a looser test than the directive parser's.
func (p *prefilter) hasDirectiveComment(f *ast.File) bool {
	for _, g := range f.Comments {
		for _, c := range g.List {
			if strings.Contains(c.Text, "toil:") {
				return true
			}
			if !strings.Contains(c.Text, "nolint") {
				continue
			}
			lower := strings.ToLower(c.Text)
			for _, r := range p.ruleNames {
				if strings.Contains(lower, r) {
					return true
				}
			}
		}
	}
	return false
}

// fileScope is what a file imports: paths, by local name, and dot-imported.
type fileScope struct {
	paths map[string]bool
	// names maps local names to import paths; a name imported twice (an
	// error go/types resolves to the first) keeps both.
	names map[string][]string
	dots  map[string]bool
}

// callsName reports whether f has a call whose callee is named so that
// candidate accepts it: f(...), x.f(...), f[T](...), (x.f)(...), the forms
// go/types resolves a callee from. candidate gets the name and, for a
// selector, the expression it is selected from (nil for a bare name).
func callsName(f *ast.File, candidate func(name string, x ast.Expr) bool) bool {
	found := false
	ast.Inspect(f, func(n ast.Node) bool {
		if found {
			return false
		}
		call, ok := n.(*ast.CallExpr)
		if !ok {
			return true
		}
		fun := ast.Unparen(call.Fun)
		switch x := fun.(type) {
		case *ast.IndexExpr:
			fun = ast.Unparen(x.X)
		case *ast.IndexListExpr:
			fun = ast.Unparen(x.X)
		}
		switch x := fun.(type) {
		case *ast.Ident:
			found = candidate(x.Name, nil)
		case *ast.SelectorExpr:
			found = candidate(x.Sel.Name, ast.Unparen(x.X))
		}
		return !found
	})
	return found
}
