package stdoutwrite_test

import (
	"testing"

	"github.com/toilhq/toil/analyzers/stdoutwrite"
	"golang.org/x/tools/go/analysis/analysistest"
)

func TestStdoutWrite(t *testing.T) {
	analysistest.Run(t, analysistest.TestData(), stdoutwrite.Analyzer, "lib", "clitool")
}
