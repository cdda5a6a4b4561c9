package lint

import (
	"fmt"
	"go/token"
	"go/types"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/toilhq/toil/analyzers"
)

// prefilterSettings are the configurations the prefilter is checked under:
// the defaults, every rule, and every rule with the flags that change where
// rules report.
func prefilterSettings() map[string]analyzers.Settings {
	var optIn []string
	for _, r := range analyzers.Rules() {
		if !r.Default {
			optIn = append(optIn, r.Name)
		}
	}
	return map[string]analyzers.Settings{
		"default":    {},
		"all":        {Enable: optIn},
		"all+tests":  {Enable: optIn, DumpTests: true},
		"all+cmdpat": {Enable: optIn, DumpTests: true, CommandPatterns: []string{"example.com/tools/...", "example.com/prefilter/parens"}},
	}
}

// TestPrefilterDropsNoFinding lints every analyzer's testdata, the
// prefilter's own tricky cases and the 5,000-file benchmark module with and
// without the prefilter, under several settings: findings and errors must
// be identical, and the prefilter must actually skip units.
func TestPrefilterDropsNoFinding(t *testing.T) {
	t.Parallel()
	srcs, err := filepath.Glob(filepath.Join("..", "analyzers", "*", "testdata", "src"))
	if err != nil || len(srcs) == 0 {
		t.Fatalf("no analyzer testdata found: %v", err)
	}
	for name, s := range prefilterSettings() {
		t.Run("testdata/"+name, func(t *testing.T) {
			t.Parallel()
			var total, checked, units int
			for _, src := range srcs {
				full := lintGOPATH(t, src, s, false)
				pre := lintGOPATH(t, src, s, true)
				compareRuns(t, src, full, pre)
				total += len(full.Findings)
				checked += pre.checked
				units += full.checked
			}
			if total == 0 {
				t.Fatal("no finding in any testdata package: the comparison proves nothing")
			}
			t.Logf("%d findings; prefilter type-checked %d of %d units", total, checked, units)
		})
	}

	fixtures, err := filepath.Abs(filepath.Join("testdata", "prefilter"))
	if err != nil {
		t.Fatal(err)
	}
	for name, s := range prefilterSettings() {
		t.Run("fixtures/"+name, func(t *testing.T) {
			t.Parallel()
			full := runBoth(t, fixtures, s)
			if name == "all+tests" {
				assertFixtureFindings(t, fixtures, full)
			}
		})
	}

	t.Run("skipped", func(t *testing.T) {
		t.Parallel()
		// Packages that mention target names without being able to call a
		// target of the default rules (logdebug would match a *log.Logger
		// method named Println): the prefilter must not type-check them.
		cfg := Config{Dir: fixtures, Patterns: []string{"./otherprintln", "./gen", "./cmd/tool"}}
		res, err := run(t.Context(), cfg, true)
		if err != nil {
			t.Fatal(err)
		}
		if res.Packages != 3 || res.checked != 0 || len(res.Findings) != 0 {
			t.Errorf("%d units, %d type-checked, findings %v; want 3, 0, none", res.Packages, res.checked, findingList(res.Findings))
		}
	})

	t.Run("stripped", func(t *testing.T) {
		t.Parallel()
		// a.go's calls resolve through b.go's and c.go's declarations;
		// only a.go may report, so the others lose their bodies, and the
		// findings must be those of a full type-check (runBoth compares).
		s := prefilterSettings()["all+tests"]
		full, err := run(t.Context(), Config{Dir: fixtures, Patterns: []string{"./stripdeps"}, Settings: s}, false)
		if err != nil {
			t.Fatal(err)
		}
		pre, err := run(t.Context(), Config{Dir: fixtures, Patterns: []string{"./stripdeps"}, Settings: s}, true)
		if err != nil {
			t.Fatal(err)
		}
		compareRuns(t, "stripdeps", full, pre)
		if pre.stripped != 2 {
			t.Errorf("%d files type-checked without bodies, want 2 (b.go, c.go)", pre.stripped)
		}
		var got []string
		for _, f := range pre.Findings {
			got = append(got, fmt.Sprintf("%s:%d:%s", filepath.Base(f.Pos.Filename), f.Pos.Line, f.Rule))
		}
		want := []string{"a.go:10:logdebug", "a.go:11:logdebug", "a.go:12:logdebug", "a.go:16:fmtprint"}
		if !slices.Equal(got, want) {
			t.Errorf("findings %v, want %v", got, want)
		}
	})

	t.Run("benchmodule", func(t *testing.T) {
		t.Parallel()
		if testing.Short() {
			t.Skip("writes 5,000 files")
		}
		dir := filepath.Join(t.TempDir(), "big")
		cmd := exec.Command("sh", filepath.Join("..", "bench", "lint", "gen.sh"), dir)
		cmd.Env = append(os.Environ(), "GEN_NOGIT=1")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("gen.sh: %v\n%s", err, out)
		}
		// Two settings: the module has one print and nothing opt-in rules
		// match, and each run lints 5,000 files.
		for _, name := range []string{"default", "all+tests"} {
			full := runBoth(t, dir, prefilterSettings()[name])
			if len(full.Findings) != 1 || full.Findings[0].Rule != "fmtprint" {
				t.Errorf("%s: want the one fmtprint finding gen.sh adds, got %v", name, full.Findings)
			}
		}
	})
}

// runBoth lints the module in dir with and without the prefilter and
// checks that the results agree; it returns the unfiltered result.
func runBoth(t *testing.T, dir string, s analyzers.Settings) *Result {
	t.Helper()
	full, err := run(t.Context(), Config{Dir: dir, Settings: s}, false)
	if err != nil {
		t.Fatal(err)
	}
	pre, err := run(t.Context(), Config{Dir: dir, Settings: s}, true)
	if err != nil {
		t.Fatal(err)
	}
	compareRuns(t, dir, full, pre)
	if pre.checked >= full.checked {
		t.Errorf("%s: the prefilter skipped nothing (%d of %d units type-checked)", dir, pre.checked, full.checked)
	}
	if pre.stripped == 0 {
		t.Errorf("%s: no file of a type-checked unit was stripped of its bodies", dir)
	}
	return full
}

func compareRuns(t *testing.T, where string, full, pre *Result) {
	t.Helper()
	if !reflect.DeepEqual(full.Findings, pre.Findings) {
		t.Errorf("%s: findings differ\nwithout prefilter: %v\nwith prefilter:    %v", where, findingList(full.Findings), findingList(pre.Findings))
	}
	if !slices.Equal(errorList(full.Errors), errorList(pre.Errors)) {
		t.Errorf("%s: errors differ\nwithout prefilter: %v\nwith prefilter:    %v", where, errorList(full.Errors), errorList(pre.Errors))
	}
	if full.Packages != pre.Packages {
		t.Errorf("%s: %d units without the prefilter, %d with", where, full.Packages, pre.Packages)
	}
}

func findingList(fs []Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, fmt.Sprintf("%s:%d:%d: %s: %s", filepath.Base(f.Pos.Filename), f.Pos.Line, f.Pos.Column, f.Rule, f.Message))
	}
	return out
}

func errorList(es []*PackageError) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.Dir+": "+e.Error())
	}
	return out
}

// lintGOPATH lints every package directory under src the way analysistest
// loads testdata: GOPATH layout, the import path being the directory below
// src.
func lintGOPATH(t *testing.T, src string, s analyzers.Settings, prefiltered bool) *Result {
	t.Helper()
	as, err := s.Analyzers()
	if err != nil {
		t.Fatal(err)
	}
	e := &engine{
		fset:      token.NewFileSet(),
		sizes:     types.SizesFor("gc", runtime.GOARCH),
		analyzers: as,
		linted:    map[string][]byte{},
	}
	if prefiltered {
		e.filter = newPrefilter(as)
		if e.filter == nil {
			t.Fatal("no prefilter for toil's own rules")
		}
	}
	abs, err := filepath.Abs(src)
	if err != nil {
		t.Fatal(err)
	}
	res := &Result{}
	err = filepath.WalkDir(abs, func(path string, d os.DirEntry, err error) error {
		if err != nil || !d.IsDir() || !hasGoFiles(path) {
			return err
		}
		mods := newModuleCache(diskFS{})
		mods.mods[path] = module{Dir: abs}
		fs, errs, n := e.lintDir(diskFS{}, mods, path, true)
		res.Findings = append(res.Findings, fs...)
		res.Errors = append(res.Errors, errs...)
		res.Packages += n
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sortFindings(res.Findings)
	res.checked = int(e.checked.Load())
	return res
}

// assertFixtureFindings pins what the prefilter's tricky cases report, so
// that they keep exercising it: each is a way a call can resolve to a
// target that a careless prefilter would drop.
func assertFixtureFindings(t *testing.T, dir string, res *Result) {
	t.Helper()
	var got []string
	for _, f := range res.Findings {
		rel, _ := filepath.Rel(dir, f.Pos.Filename)
		got = append(got, fmt.Sprintf("%s:%d:%s", filepath.ToSlash(rel), f.Pos.Line, f.Rule))
	}
	want := []string{
		"alias/a.go:9:fmtprint",
		"alias/a.go:10:breakpoint",
		"directive/d.go:6:directives",
		"directive/d.go:9:directives",
		"dotimport/d.go:5:fmtprint",
		"dumptest/d_test.go:9:dumpcall",
		"embed/b.go:4:dumpcall",
		"logger/b.go:3:logdebug",
		"mainpkg/main_test.go:9:builtinprint",
		"mainpkg/main_test.go:10:breakpoint",
		"methodexpr/m.go:6:dumpcall",
		"nolintupper/n.go:5:directives",
		"parens/p.go:5:fmtprint",
		"ppv3/p.go:5:dumpimport",
		"ppv3/p.go:7:dumpcall",
		"redeclared/r.go:10:fmtprint",
		"renamed/r.go:4:dumpimport",
		"renamed/r.go:6:dumpcall",
		"stdout/s.go:9:stdoutwrite",
		"stdout/s.go:10:stdoutwrite",
		"stripdeps/a.go:10:logdebug",
		"stripdeps/a.go:11:logdebug",
		"stripdeps/a.go:12:logdebug",
		"stripdeps/a.go:16:fmtprint",
	}
	if !slices.Equal(got, want) {
		t.Errorf("fixture findings:\n got %s\nwant %s", strings.Join(got, "\n     "), strings.Join(want, "\n     "))
	}
}
