package breakpoint_test

import (
	"testing"

	"github.com/toilhq/toil/analyzers/breakpoint"
	"golang.org/x/tools/go/analysis/analysistest"
)

func TestBreakpoint(t *testing.T) {
	analysistest.Run(t, analysistest.TestData(), breakpoint.Analyzer, "a", "mainpkg")
}

func TestBreakpointFix(t *testing.T) {
	analysistest.RunWithSuggestedFixes(t, analysistest.TestData(), breakpoint.Analyzer, "fix")
}
