package lint

import (
	"go/ast"
	"go/parser"
	"go/scanner"
	"go/token"
	"go/types"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/tools/go/analysis"

	"github.com/toilhq/toil/analyzers/breakpoint"
	"github.com/toilhq/toil/analyzers/builtinprint"
	"github.com/toilhq/toil/analyzers/debugstack"
	"github.com/toilhq/toil/analyzers/directives"
	"github.com/toilhq/toil/analyzers/dumpcall"
	"github.com/toilhq/toil/analyzers/dumpimport"
	"github.com/toilhq/toil/analyzers/fmtprint"
	"github.com/toilhq/toil/analyzers/logdebug"
	"github.com/toilhq/toil/analyzers/stdoutwrite"
)

// equivCases mirror the analyzers' own analysistest runs: the same
// analyzer configuration on the same testdata packages. analysistest
// type-checks them against the testdata copies of the libraries; the
// engine type-checks them against lint/stubs and fakes every other import.
// Equal findings mean the stubs are as good as the real types for every
// rule and every exemption the analyzers test.
var equivCases = []struct {
	rule  string
	new   func() *analysis.Analyzer
	flags map[string]string
	pkgs  []string
}{
	{"breakpoint", breakpoint.New, nil, []string{"a", "mainpkg", "fix"}},
	{"builtinprint", builtinprint.New, nil, []string{"a", "b", "fix"}},
	{"debugstack", debugstack.New, nil, []string{"lib", "mainpkg"}},
	{"directives", func() *analysis.Analyzer {
		return directives.New(breakpoint.New(), dumpcall.New(), fmtprint.New())
	}, nil, []string{"a", "gen"}},
	{"dumpcall", dumpcall.New, nil, []string{"a", "mainpkg", "clitool", "fix"}},
	{"dumpcall", dumpcall.New, map[string]string{"tests": "true"}, []string{"b"}},
	{"dumpimport", dumpimport.New, nil, []string{"lib", "clitool"}},
	{"fmtprint", fmtprint.New, nil, []string{"lib", "mainpkg", "clitool", "example.com/cmd/tool", "directive", "fix", "fiximport", "fixsingle"}},
	{"fmtprint", fmtprint.New, map[string]string{"cmdpatterns": "example.com/tools/..."}, []string{"example.com/tools/gen", "example.com/toolsx/lib"}},
	{"logdebug", logdebug.New, nil, []string{"lib", "fix"}},
	{"stdoutwrite", stdoutwrite.New, nil, []string{"lib", "clitool"}},
}

func TestStubsMatchAnalysistestExpectations(t *testing.T) {
	t.Parallel()
	for _, c := range equivCases {
		src, err := filepath.Abs(filepath.Join("..", "analyzers", c.rule, "testdata", "src"))
		if err != nil {
			t.Fatal(err)
		}
		for _, pkg := range c.pkgs {
			dir := filepath.Join(src, filepath.FromSlash(pkg))
			if _, err := os.Stat(dir); err != nil {
				t.Errorf("%s: testdata package %s is gone; update equivCases to mirror the analyzer's test", c.rule, pkg)
				continue
			}
			a := c.new()
			for k, v := range c.flags {
				if err := a.Flags.Set(k, v); err != nil {
					t.Fatal(err)
				}
			}
			e := &engine{
				fset:      token.NewFileSet(),
				sizes:     types.SizesFor("gc", runtime.GOARCH),
				analyzers: []*analysis.Analyzer{a},
				linted:    map[string][]byte{},
			}
			// GOPATH layout, as analysistest loads it: import path = the
			// directory below testdata/src.
			mods := newModuleCache(diskFS{})
			mods.mods[dir] = module{Dir: src}
			findings, errs, _ := e.lintDir(diskFS{}, mods, dir, true)
			for _, pe := range errs {
				t.Errorf("%s %s: %v", c.rule, pkg, pe)
			}
			compareWants(t, c.rule+" "+pkg, dir, findings)
		}
	}
}

type want struct {
	file string
	line int
	re   *regexp.Regexp
	hit  bool
}

// compareWants checks findings against the package's // want comments the
// way analysistest does: every finding matches an expectation on its line,
// and every expectation is matched.
func compareWants(t *testing.T, name, dir string, findings []Finding) {
	t.Helper()
	wants := readWants(t, dir)
	for _, f := range findings {
		matched := false
		for _, w := range wants {
			if !w.hit && w.file == f.Pos.Filename && w.line == f.Pos.Line && w.re.MatchString(f.Message) {
				w.hit, matched = true, true
				break
			}
		}
		if !matched {
			t.Errorf("%s: %s:%d: unexpected finding: %s", name, filepath.Base(f.Pos.Filename), f.Pos.Line, f.Message)
		}
	}
	for _, w := range wants {
		if !w.hit {
			t.Errorf("%s: %s:%d: no finding matched `%s`", name, filepath.Base(w.file), w.line, w.re)
		}
	}
}

func readWants(t *testing.T, dir string) []*want {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var wants []*want
	fset := token.NewFileSet()
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".go") {
			continue
		}
		path := filepath.Join(dir, e.Name())
		f, err := parser.ParseFile(fset, path, nil, parser.ParseComments)
		if err != nil {
			continue // a syntax-error fixture: not an expectation source
		}
		for _, cg := range f.Comments {
			for _, c := range cg.List {
				wants = append(wants, parseWant(t, fset, c)...)
			}
		}
	}
	return wants
}

func parseWant(t *testing.T, fset *token.FileSet, c *ast.Comment) []*want {
	text := c.Text
	i := strings.Index(text, "// want")
	if i < 0 {
		if i = strings.Index(text, "/* want"); i < 0 {
			return nil
		}
	}
	rest := strings.TrimSuffix(text[i+len("// want"):], "*/")
	pos := fset.PositionFor(c.Pos(), false)
	line := pos.Line
	var s scanner.Scanner
	sf := token.NewFileSet().AddFile("", -1, len(rest))
	s.Init(sf, []byte(rest), nil, 0)
	var out []*want
	for {
		_, tok, lit := s.Scan()
		switch tok {
		case token.EOF, token.SEMICOLON:
			if tok == token.SEMICOLON && lit != "\n" {
				continue
			}
			return out
		case token.ADD:
			_, tok, lit = s.Scan()
			if tok != token.INT {
				t.Fatalf("%s: bad want offset", pos)
			}
			n, _ := strconv.Atoi(lit)
			line += n
		case token.STRING:
			pat, err := strconv.Unquote(lit)
			if err != nil {
				t.Fatalf("%s: %v", pos, err)
			}
			out = append(out, &want{file: pos.Filename, line: line, re: regexp.MustCompile(pat)})
		default:
			return out
		}
	}
}
