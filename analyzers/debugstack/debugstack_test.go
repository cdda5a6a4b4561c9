package debugstack_test

import (
	"testing"

	"github.com/toilhq/toil/analyzers/debugstack"
	"golang.org/x/tools/go/analysis/analysistest"
)

func TestDebugStack(t *testing.T) {
	analysistest.Run(t, analysistest.TestData(), debugstack.Analyzer, "lib", "mainpkg")
}
