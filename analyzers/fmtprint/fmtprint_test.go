package fmtprint_test

import (
	"testing"

	"github.com/toilhq/toil/analyzers/fmtprint"
	"golang.org/x/tools/go/analysis/analysistest"
)

func TestFmtPrint(t *testing.T) {
	analysistest.Run(t, analysistest.TestData(), fmtprint.Analyzer,
		"lib", "mainpkg", "clitool", "example.com/cmd/tool", "directive")
}

func TestFmtPrintCommandPatterns(t *testing.T) {
	a := fmtprint.New()
	if err := a.Flags.Set("cmdpatterns", "example.com/tools/..."); err != nil {
		t.Fatal(err)
	}
	analysistest.Run(t, analysistest.TestData(), a, "example.com/tools/gen", "example.com/toolsx/lib")
}

func TestFmtPrintFix(t *testing.T) {
	analysistest.RunWithSuggestedFixes(t, analysistest.TestData(), fmtprint.Analyzer, "fix", "fiximport", "fixsingle")
}
