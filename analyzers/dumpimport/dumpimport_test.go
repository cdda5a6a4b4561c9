package dumpimport_test

import (
	"testing"

	"github.com/toilhq/toil/analyzers/dumpimport"
	"golang.org/x/tools/go/analysis/analysistest"
)

func TestDumpImport(t *testing.T) {
	analysistest.Run(t, analysistest.TestData(), dumpimport.Analyzer, "lib", "clitool")
}
