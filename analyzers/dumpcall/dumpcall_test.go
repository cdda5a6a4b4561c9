package dumpcall_test

import (
	"testing"

	"github.com/toilhq/toil/analyzers/dumpcall"
	"golang.org/x/tools/go/analysis/analysistest"
)

func TestDumpCall(t *testing.T) {
	analysistest.Run(t, analysistest.TestData(), dumpcall.Analyzer, "a", "mainpkg", "clitool")
}

func TestDumpCallInTests(t *testing.T) {
	a := dumpcall.New()
	if err := a.Flags.Set("tests", "true"); err != nil {
		t.Fatal(err)
	}
	analysistest.Run(t, analysistest.TestData(), a, "b")
}

func TestDumpCallFix(t *testing.T) {
	analysistest.RunWithSuggestedFixes(t, analysistest.TestData(), dumpcall.Analyzer, "fix")
}
