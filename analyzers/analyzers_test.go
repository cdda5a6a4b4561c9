package analyzers_test

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/toilhq/toil/analyzers"
	"golang.org/x/tools/go/analysis"
)

func names(as []*analysis.Analyzer) []string {
	var ns []string
	for _, a := range as {
		ns = append(ns, a.Name)
	}
	return ns
}

func TestAll(t *testing.T) {
	all := analyzers.All()
	want := []string{"breakpoint", "builtinprint", "dumpcall", "fmtprint", "debugstack", "stdoutwrite", "logdebug", "dumpimport", "directives"}
	if got := names(all); !slices.Equal(got, want) {
		t.Fatalf("All() = %v, want %v", got, want)
	}
	if err := analysis.Validate(all); err != nil {
		t.Fatal(err)
	}
	// go vet hands the tool its own build flags' names: an analyzer named
	// like one would make -NAME ambiguous.
	for _, a := range all {
		if slices.Contains([]string{"v", "x", "n", "tags", "json", "c", "fix", "diff", "V", "flags"}, a.Name) {
			t.Errorf("analyzer %q collides with a go build or vet flag", a.Name)
		}
	}
	// Fresh values each call: configuring one run must not leak into another.
	if analyzers.All()[3] == all[3] {
		t.Error("All returned the same *analysis.Analyzer twice")
	}
}

func TestRules(t *testing.T) {
	on := map[string]bool{}
	for _, r := range analyzers.Rules() {
		on[r.Name] = r.Default
		if r.Doc == "" || strings.Contains(r.Doc, "\n") || r.URL == "" {
			t.Errorf("rule %s: doc %q, URL %q: want one line and a URL", r.Name, r.Doc, r.URL)
		}
	}
	for name, want := range map[string]bool{
		"breakpoint": true, "builtinprint": true, "dumpcall": true, "fmtprint": true,
		"debugstack": false, "stdoutwrite": false, "logdebug": false, "dumpimport": false,
		"directives": true,
	} {
		if got, ok := on[name]; !ok || got != want {
			t.Errorf("rule %s: default %v (listed %v), want %v", name, got, ok, want)
		}
	}
}

func TestSettingsAnalyzers(t *testing.T) {
	as, err := analyzers.Settings{}.Analyzers()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := names(as), []string{"breakpoint", "builtinprint", "dumpcall", "fmtprint", "directives"}; !slices.Equal(got, want) {
		t.Errorf("default set = %v, want %v", got, want)
	}
	dir := as[len(as)-1]
	if len(dir.Requires) != 4 {
		t.Errorf("directives requires %d analyzers, want the 4 rules that run", len(dir.Requires))
	}

	s := analyzers.Settings{
		Enable:          []string{"logdebug"},
		Disable:         []string{"fmtprint", "directives"},
		CommandPatterns: []string{"example.com/tools/...", "example.com/*/cli"},
		DumpTests:       true,
	}
	as, err = s.Analyzers()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := names(as), []string{"breakpoint", "builtinprint", "dumpcall", "logdebug"}; !slices.Equal(got, want) {
		t.Errorf("configured set = %v, want %v", got, want)
	}
	for _, a := range as {
		switch a.Name {
		case "dumpcall":
			if v := a.Flags.Lookup("tests").Value.String(); v != "true" {
				t.Errorf("dumpcall.tests = %s, want true", v)
			}
			fallthrough
		case "logdebug":
			if v := a.Flags.Lookup("cmdpatterns").Value.String(); v != "example.com/tools/...,example.com/*/cli" {
				t.Errorf("%s.cmdpatterns = %q", a.Name, v)
			}
		}
	}
	// The package-level defaults are untouched.
	def, _ := analyzers.Settings{}.Analyzers()
	for _, a := range def {
		if f := a.Flags.Lookup("tests"); f != nil && f.Value.String() != "false" {
			t.Error("configuring one set changed another")
		}
	}

	for _, bad := range []analyzers.Settings{
		{Enable: []string{"fmtprnt"}},
		{Disable: []string{"nope"}},
		{Enable: []string{"logdebug"}, Disable: []string{"logdebug"}},
		{CommandPatterns: []string{"has space"}},
	} {
		if _, err := bad.Analyzers(); err == nil {
			t.Errorf("%+v: want an error", bad)
		}
	}
	_, err = analyzers.Settings{Enable: []string{"fmtprnt"}}.Analyzers()
	if err == nil || !strings.Contains(err.Error(), `"fmtprnt"`) || !strings.Contains(err.Error(), "fmtprint") {
		t.Errorf("unknown rule error %v: want it to name the rule and list the valid ones", err)
	}
}

func TestHash(t *testing.T) {
	a := analyzers.Settings{Enable: []string{"logdebug"}}.Hash()
	if !bytes.Equal(a, analyzers.Settings{Enable: []string{"logdebug"}}.Hash()) {
		t.Error("Hash is not stable")
	}
	for _, other := range []analyzers.Settings{
		{},
		{Enable: []string{"logdebug"}, DumpTests: true},
		{Enable: []string{"logdebug"}, CommandPatterns: []string{"x/..."}},
		{Enable: []string{"logdebug"}, Disable: []string{"fmtprint"}},
	} {
		if bytes.Equal(a, other.Hash()) {
			t.Errorf("%+v hashes like %+v", other, analyzers.Settings{Enable: []string{"logdebug"}})
		}
	}
	// Order in the lists does not change what runs.
	if !bytes.Equal(analyzers.Settings{Enable: []string{"logdebug", "dumpimport"}}.Hash(),
		analyzers.Settings{Enable: []string{"dumpimport", "logdebug"}}.Hash()) {
		t.Error("Hash depends on list order")
	}
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestLoadSettings(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	write(t, filepath.Join(root, "go.mod"), "module example.com/m\n")
	write(t, filepath.Join(root, "toil.yaml"), `name: shop
services:
  web: {run: shop.web}
lint:
  enable: [logdebug]
  disable:
    - fmtprint
  command-patterns: [example.com/m/tools/...]
  dump-tests: true
`)
	s, path, err := analyzers.LoadSettings(filepath.Join(root, "internal", "deep"))
	if err != nil {
		t.Fatal(err)
	}
	if path != filepath.Join(root, "toil.yaml") {
		t.Errorf("path = %q", path)
	}
	want := analyzers.Settings{Enable: []string{"logdebug"}, Disable: []string{"fmtprint"}, CommandPatterns: []string{"example.com/m/tools/..."}, DumpTests: true}
	if !slices.Equal(s.Enable, want.Enable) || !slices.Equal(s.Disable, want.Disable) || !slices.Equal(s.CommandPatterns, want.CommandPatterns) || s.DumpTests != want.DumpTests {
		t.Errorf("LoadSettings = %+v, want %+v", s, want)
	}
}

func TestLoadSettingsStopsAtModuleRoot(t *testing.T) {
	t.Parallel()
	outer := t.TempDir()
	write(t, filepath.Join(outer, "toil.yaml"), "lint:\n  enable: [logdebug]\n")
	mod := filepath.Join(outer, "mod")
	write(t, filepath.Join(mod, "go.mod"), "module example.com/m\n")
	s, path, err := analyzers.LoadSettings(mod)
	if err != nil || path != "" || len(s.Enable) != 0 {
		t.Errorf("LoadSettings above the module root = %+v, %q, %v; want zero settings, no path", s, path, err)
	}
	// No lint section: zero settings, but the file was found.
	write(t, filepath.Join(mod, "toil.yaml"), "name: x\n")
	s, path, err = analyzers.LoadSettings(mod)
	if err != nil || path != filepath.Join(mod, "toil.yaml") || len(s.Enable) != 0 {
		t.Errorf("LoadSettings without lint: = %+v, %q, %v", s, path, err)
	}
}

func TestLoadSettingsErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ yaml, want string }{
		{"name: x\nlint:\n  enabel: [logdebug]\n", `toil.yaml:3: lint: unknown key "enabel"; known keys: command-patterns, disable, dump-tests, enable`},
		{"lint:\n  enable: [logdebug, fmtprnt]\n", `toil.yaml:2: lint: enable: unknown rule "fmtprnt"; known rules: breakpoint,`},
		{"lint:\n  enable: logdebug\n", `toil.yaml:2: lint: enable: want a list`},
		{"lint:\n  dump-tests: sometimes\n", `toil.yaml:2: lint: dump-tests: want true or false, got "sometimes"`},
		{"lint:\n  command-patterns:\n    - ok/...\n    - not ok\n", `toil.yaml:4: lint: command-patterns: import path pattern "not ok"`},
		{"lint: [fmtprint]\n", `toil.yaml:1: lint: want a mapping`},
		{"lint:\n  enable: [\n", `toil.yaml: yaml:`},
	} {
		dir := t.TempDir()
		write(t, filepath.Join(dir, "go.mod"), "module example.com/m\n")
		write(t, filepath.Join(dir, "toil.yaml"), tc.yaml)
		_, _, err := analyzers.LoadSettings(dir)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("toil.yaml %q: error %v, want it to contain %q", tc.yaml, err, tc.want)
		}
	}
}
