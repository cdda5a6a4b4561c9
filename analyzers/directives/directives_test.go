package directives_test

import (
	"testing"

	"github.com/toilhq/toil/analyzers/breakpoint"
	"github.com/toilhq/toil/analyzers/directives"
	"github.com/toilhq/toil/analyzers/dumpcall"
	"github.com/toilhq/toil/analyzers/fmtprint"
	"golang.org/x/tools/go/analysis/analysistest"
)

func TestDirectives(t *testing.T) {
	// logdebug is deliberately not in the run: its directives cannot be
	// judged unused.
	a := directives.New(breakpoint.New(), dumpcall.New(), fmtprint.New())
	analysistest.Run(t, analysistest.TestData(), a, "a", "gen")
}
