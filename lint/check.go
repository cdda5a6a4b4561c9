package lint

import (
	"errors"
	"fmt"
	"go/ast"
	"go/build"
	"go/parser"
	"go/scanner"
	"go/token"
	"go/types"
	"path/filepath"
	"runtime/debug"
	"strings"

	"golang.org/x/tools/go/analysis"
	"golang.org/x/tools/go/analysis/checker"
	"golang.org/x/tools/go/packages"

	"github.com/toilhq/toil/lint/stubs"
)

// unit is one type-checked compilation unit: a package with its in-package
// tests, or its external _test package.
type unit struct {
	id         string // "path" or "path_test", for messages
	importPath string
	files      []string // absolute paths, sorted
}

// unitsOf splits a go/build package into the units the rules run on. The
// package's own files and its in-package tests are one unit (as in
// `p [p.test]`), so that each file is analysed exactly once.
func unitsOf(bp *build.Package, importPath string) []unit {
	abs := func(names ...[]string) []string {
		var out []string
		for _, ns := range names {
			for _, n := range ns {
				out = append(out, filepath.Join(bp.Dir, n))
			}
		}
		return out
	}
	var units []unit
	if files := abs(bp.GoFiles, bp.CgoFiles, bp.TestGoFiles); len(files) > 0 {
		units = append(units, unit{id: importPath, importPath: importPath, files: files})
	}
	if files := abs(bp.XTestGoFiles); len(files) > 0 {
		units = append(units, unit{id: importPath + "_test", importPath: importPath + "_test", files: files})
	}
	return units
}

// syntaxError is a parse error of a unit: the package cannot be linted.
type syntaxError struct {
	list scanner.ErrorList
}

func (e *syntaxError) Error() string {
	var b strings.Builder
	for i, err := range e.list {
		if i == 3 {
			fmt.Fprintf(&b, "\n(and %d more)", len(e.list)-3)
			break
		}
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(err.Error())
	}
	return b.String()
}

// checkUnit parses and type-checks a unit against the stubs, then runs the
// analyzers on it. Type errors are expected (every unstubbed import is a
// fake package) and ignored: the rules only match objects of stubbed
// packages and of the unit itself, whose resolution does not depend on them.
func (e *engine) checkUnit(u unit, contents map[string][]byte, m module) (findings []Finding, err error) {
	defer func() {
		// An analyzer bug must not take the other packages down with it.
		if r := recover(); r != nil {
			err = fmt.Errorf("internal error linting %s: %v\n%s", u.id, r, debug.Stack())
		}
	}()
	// The prefilter judges each file as soon as it is parsed, so that the
	// bodies of a file where no rule can report are garbage before the
	// next file is parsed: a big package's syntax is never all in memory.
	var uf *unitFilter
	if e.filter != nil {
		hset := token.NewFileSet() // headers are thrown away: keep e.fset small
		headers := make([]*ast.File, 0, len(u.files))
		for _, name := range u.files {
			// An error here is the full parse's too, reported below.
			if h, err := parser.ParseFile(hset, name, contents[name], parser.ImportsOnly|parser.SkipObjectResolution); err == nil {
				headers = append(headers, h)
			}
		}
		uf = e.filter.unit(u.importPath, headers)
	}
	var files []*ast.File
	var perr scanner.ErrorList
	reporting, stripped := false, 0
	for _, name := range u.files {
		f, err := parser.ParseFile(e.fset, name, contents[name], parser.ParseComments|parser.SkipObjectResolution)
		if err != nil {
			var list scanner.ErrorList
			if errors.As(err, &list) {
				perr = append(perr, list...)
				continue
			}
			return nil, err
		}
		if uf != nil && !uf.reports(name, f) {
			f = stripBodies(f)
			stripped++
		} else {
			reporting = true
		}
		files = append(files, f)
	}
	if len(perr) > 0 {
		perr.Sort()
		return nil, &syntaxError{list: perr}
	}
	if !reporting {
		return nil, nil // nothing a rule could report: skip type-checking
	}
	e.stripped.Add(int64(stripped))
	e.checked.Add(1)

	info := &types.Info{
		Types:        map[ast.Expr]types.TypeAndValue{},
		Defs:         map[*ast.Ident]types.Object{},
		Uses:         map[*ast.Ident]types.Object{},
		Implicits:    map[ast.Node]types.Object{},
		Instances:    map[*ast.Ident]types.Instance{},
		Scopes:       map[ast.Node]*types.Scope{},
		Selections:   map[*ast.SelectorExpr]*types.Selection{},
		FileVersions: map[*ast.File]string{},
	}
	conf := types.Config{
		Importer:    stubs.Importer{},
		Error:       func(error) {},
		FakeImportC: true,
		Sizes:       e.sizes,
	}
	if m.GoVersion != "" {
		conf.GoVersion = "go" + m.GoVersion
	}
	pkgName := files[0].Name.Name
	tpkg, _ := conf.Check(u.importPath, e.fset, files, info)

	pkg := &packages.Package{
		ID:              u.id,
		Name:            pkgName,
		PkgPath:         u.importPath,
		GoFiles:         u.files,
		CompiledGoFiles: u.files,
		Fset:            e.fset,
		Syntax:          files,
		Types:           tpkg,
		TypesInfo:       info,
		TypesSizes:      e.sizes,
	}
	if m.Path != "" {
		pkg.Module = &packages.Module{Path: m.Path, Dir: m.Dir, GoVersion: m.GoVersion, Main: true}
	}
	graph, err := checker.Analyze(e.analyzers, []*packages.Package{pkg}, &checker.Options{Sequential: true})
	if err != nil {
		return nil, err
	}
	var errs []error
	for _, act := range graph.Roots {
		if act.Err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", act.Analyzer.Name, act.Err))
			continue
		}
		for _, d := range act.Diagnostics {
			if f, ok := e.finding(act.Analyzer, d, contents); ok {
				findings = append(findings, f)
			}
		}
	}
	return findings, errors.Join(errs...)
}

// stripBodies returns a copy of f without the bodies of its functions and
// methods, for a file where the prefilter found nothing a rule could report.
// Most of a big package's type-checking time and memory is spent in
// function bodies (nats-server's server package: 144 files, one with a
// print). Nothing outside a body depends on what is inside one (Go infers
// no result types), so the declarations, and with them every type a kept
// file's code resolves, are what a full check gives. A file that may have
// a finding keeps every body: a fix's import deletion counts the other
// uses of the import in the file, and a directive's extent is measured on
// the file's syntax. Function literals outside functions (package-level
// closures) are kept: they are part of a declaration.
func stripBodies(f *ast.File) *ast.File {
	c := *f
	c.Decls = make([]ast.Decl, len(f.Decls))
	for i, d := range f.Decls {
		if fd, ok := d.(*ast.FuncDecl); ok && fd.Body != nil {
			stripped := *fd
			stripped.Body = nil
			d = &stripped
		}
		c.Decls[i] = d
	}
	return &c
}

// finding converts a diagnostic to a Finding with file positions (not
// //line-adjusted: the lines a person edits) and byte-offset fix edits.
func (e *engine) finding(a *analysis.Analyzer, d analysis.Diagnostic, contents map[string][]byte) (Finding, bool) {
	tf := e.fset.File(d.Pos)
	if tf == nil {
		return Finding{}, false
	}
	pos := e.fset.PositionFor(d.Pos, false)
	end := pos
	if d.End.IsValid() && e.fset.File(d.End) == tf {
		end = e.fset.PositionFor(d.End, false)
	}
	f := Finding{
		Rule:     a.Name,
		Category: d.Category,
		Message:  d.Message,
		URL:      d.URL,
		Pos:      pos,
		End:      end,
	}
	for _, sf := range d.SuggestedFixes {
		fix := Fix{Message: sf.Message}
		ok := true
		for _, te := range sf.TextEdits {
			etf := e.fset.File(te.Pos)
			if etf == nil {
				ok = false
				break
			}
			endPos := te.End
			if !endPos.IsValid() {
				endPos = te.Pos
			}
			fix.Edits = append(fix.Edits, Edit{
				Filename: etf.Name(),
				Start:    etf.Offset(te.Pos),
				End:      etf.Offset(endPos),
				NewText:  string(te.NewText),
			})
		}
		if ok && len(fix.Edits) > 0 {
			f.Fixes = append(f.Fixes, fix)
		}
	}
	if len(f.Fixes) > 0 {
		e.keepContents(f.Fixes, contents)
	}
	return f, true
}

// keepContents remembers the linted bytes of the files fixes edit, so that
// --fix applies edits to exactly what was linted.
func (e *engine) keepContents(fixes []Fix, contents map[string][]byte) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, fix := range fixes {
		for _, ed := range fix.Edits {
			if _, ok := e.linted[ed.Filename]; !ok {
				e.linted[ed.Filename] = contents[ed.Filename]
			}
		}
	}
}

// position returns the first error position of a syntax error, if any.
func errorPosition(err error) (token.Position, bool) {
	var se *syntaxError
	if errors.As(err, &se) && len(se.list) > 0 {
		return se.list[0].Pos, true
	}
	return token.Position{}, false
}
