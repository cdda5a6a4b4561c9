package builtinprint_test

import (
	"testing"

	"github.com/toilhq/toil/analyzers/builtinprint"
	"golang.org/x/tools/go/analysis/analysistest"
)

func TestBuiltinPrint(t *testing.T) {
	analysistest.Run(t, analysistest.TestData(), builtinprint.Analyzer, "a", "b")
}

func TestBuiltinPrintFix(t *testing.T) {
	analysistest.RunWithSuggestedFixes(t, analysistest.TestData(), builtinprint.Analyzer, "fix")
}
