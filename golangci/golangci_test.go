package golangci_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/golangci/plugin-module-register/register"
	"go.yaml.in/yaml/v3"
	"golang.org/x/tools/go/analysis"
	"golang.org/x/tools/go/analysis/analysistest"

	"github.com/toilhq/toil/golangci"
)

// settings decodes YAML the way golangci-lint hands a plugin its settings:
// a generic map from the settings: key of .golangci.yml.
func settings(t *testing.T, src string) any {
	t.Helper()
	var v any
	if err := yaml.Unmarshal([]byte(src), &v); err != nil {
		t.Fatal(err)
	}
	return v
}

func build(t *testing.T, conf any) []*analysis.Analyzer {
	t.Helper()
	newPlugin, err := register.GetPlugin(golangci.Name)
	if err != nil {
		t.Fatal(err)
	}
	p, err := newPlugin(conf)
	if err != nil {
		t.Fatal(err)
	}
	if mode := p.GetLoadMode(); mode != register.LoadModeTypesInfo {
		t.Errorf("load mode %q, want %q: the rules resolve callees through types", mode, register.LoadModeTypesInfo)
	}
	as, err := p.BuildAnalyzers()
	if err != nil {
		t.Fatal(err)
	}
	return as
}

func names(as []*analysis.Analyzer) []string {
	var ns []string
	for _, a := range as {
		ns = append(ns, a.Name)
	}
	return ns
}

func TestDefaults(t *testing.T) {
	t.Parallel()
	for _, conf := range []any{nil, map[string]any{}} {
		got := names(build(t, conf))
		want := []string{"breakpoint", "builtinprint", "dumpcall", "fmtprint", "directives"}
		if !slices.Equal(got, want) {
			t.Errorf("settings %v: analyzers %v, want %v", conf, got, want)
		}
	}
}

func TestSettingsDecoded(t *testing.T) {
	t.Parallel()
	as := build(t, settings(t, `
enable: [logdebug]
disable: [fmtprint]
command-patterns: [example.com/shop/tools/...]
dump-tests: true
`))
	got := names(as)
	if !slices.Contains(got, "logdebug") || slices.Contains(got, "fmtprint") {
		t.Errorf("analyzers %v: want logdebug on and fmtprint off", got)
	}
	for _, a := range as {
		if f := a.Flags.Lookup("tests"); a.Name == "dumpcall" && (f == nil || f.Value.String() != "true") {
			t.Errorf("dump-tests: true did not reach dumpcall's -tests flag: %v", f)
		}
		if f := a.Flags.Lookup("cmdpatterns"); f != nil && !strings.Contains(f.Value.String(), "example.com/shop/tools/...") {
			t.Errorf("command-patterns did not reach %s: -cmdpatterns=%q", a.Name, f.Value.String())
		}
	}
}

func TestBadSettings(t *testing.T) {
	t.Parallel()
	newPlugin, err := register.GetPlugin(golangci.Name)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ src, want string }{
		{"disable: [fmtprnt]", `unknown rule "fmtprnt"`},
		{"dump-test: true", `unknown field "dump-test"`},
		{"enable: [fmtprint]\ndisable: [fmtprint]", "both enabled and disabled"},
		{"enable: logdebug", "cannot unmarshal"},
	} {
		_, err := newPlugin(settings(t, tc.src))
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "linters.settings.custom.toil.settings") {
			t.Errorf("settings %q: error %v, want one naming linters.settings.custom.toil.settings and %q", tc.src, err, tc.want)
		}
	}
}

// TestAnalyzersRun checks that what the plugin hands golangci-lint finds
// leftovers, with the settings applied.
func TestAnalyzersRun(t *testing.T) {
	t.Parallel()
	as := build(t, settings(t, "command-patterns: [tools/...]"))
	i := slices.IndexFunc(as, func(a *analysis.Analyzer) bool { return a.Name == "fmtprint" })
	if i < 0 {
		t.Fatalf("no fmtprint in %v", names(as))
	}
	// Each rule reports only its own findings: lib's want comments are
	// fmtprint's, and tools/gen prints without a finding only because the
	// configured pattern makes it a command package.
	analysistest.Run(t, analysistest.TestData(), as[i], "lib", "tools/gen")
}
