package rule

import (
	"go/parser"
	"go/token"
	"testing"

	"github.com/toilhq/toil/analyzers/internal/targets"
)

func TestPatterns(t *testing.T) {
	var p Patterns
	if err := p.Set("example.com/tools/..., example.com/*/cli"); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]bool{
		"example.com/tools":           true, // a trailing /... matches the parent, as in go list
		"example.com/tools/gen":       true,
		"example.com/tools/gen/inner": true,
		"example.com/toolsx":          false,
		"example.com/shop/cli":        true,
		"example.com/shop/sub/cli":    false, // * stays within one element
		"other.com/tools/gen":         false,
	} {
		if got := p.Match(path); got != want {
			t.Errorf("Match(%q) = %v, want %v", path, got, want)
		}
	}
	if p.String() != "example.com/tools/...,example.com/*/cli" {
		t.Errorf("String() = %q", p.String())
	}
	if err := p.Set("bad pattern"); err == nil {
		t.Error("a pattern with a space must be rejected")
	}
}

func TestIsCommand(t *testing.T) {
	parse := func(name, src string) File {
		f, err := parser.ParseFile(token.NewFileSet(), name, src, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		return File{Syntax: f, Name: name, Test: len(name) > 8 && name[len(name)-8:] == "_test.go"}
	}
	lib := parse("lib.go", "package lib\n")
	cobra := parse("root.go", "package lib\nimport \"github.com/spf13/cobra\"\n")
	cobraTest := parse("root_test.go", "package lib\nimport \"github.com/spf13/cobra\"\n")
	for _, tc := range []struct {
		path, name string
		files      []File
		want       bool
	}{
		{"example.com/lib", "lib", []File{lib}, false},
		{"example.com/lib", "main", []File{lib}, true},
		{"example.com/app/cmd", "cmd", []File{lib}, true},
		{"example.com/cmd/tool", "tool", []File{lib}, true},
		{"example.com/cmdline", "cmdline", []File{lib}, false},
		{"example.com/lib", "lib", []File{lib, cobra}, true},
		{"example.com/lib", "lib", []File{lib, cobraTest}, false}, // tests importing cobra do not make a CLI
	} {
		if got := IsCommand(tc.path, tc.name, tc.files, nil); got != tc.want {
			t.Errorf("IsCommand(%q, %q) = %v, want %v", tc.path, tc.name, got, tc.want)
		}
	}
}

func TestCalleeName(t *testing.T) {
	for key, want := range map[targets.Key]string{
		{Path: "fmt", Name: "Println"}:                             "fmt.Println",
		{Path: targets.PPv3, Recv: "PrettyPrinter", Name: "Print"}: "pp.PrettyPrinter.Print",
		{Path: targets.Spew, Recv: "ConfigState", Name: "Dump"}:    "spew.ConfigState.Dump",
		{Path: "example.com/v2x", Name: "F"}:                       "v2x.F",
	} {
		if got := CalleeName(key); got != want {
			t.Errorf("CalleeName(%v) = %q, want %q", key, got, want)
		}
	}
}

func TestMustExtractDoc(t *testing.T) {
	doc := "// Package x does x.\n//\n// # Analyzer x\n//\n// x: report x\n//\n// More.\npackage x\n"
	if got := MustExtractDoc(doc, "x"); got != "report x\n\nMore." {
		t.Errorf("MustExtractDoc = %q", got)
	}
}
