package logdebug_test

import (
	"testing"

	"github.com/toilhq/toil/analyzers/logdebug"
	"golang.org/x/tools/go/analysis/analysistest"
)

func TestLogDebug(t *testing.T) {
	analysistest.Run(t, analysistest.TestData(), logdebug.Analyzer, "lib")
}

func TestLogDebugFix(t *testing.T) {
	analysistest.RunWithSuggestedFixes(t, analysistest.TestData(), logdebug.Analyzer, "fix")
}

func TestMarker(t *testing.T) {
	for msg, want := range map[string]string{
		"DEBUG":          "DEBUG",
		"DEBUG: x":       "DEBUG",
		"DEBUGGING":      "",
		"Debug: x":       "Debug:",
		"debug mode":     "",
		"  >>> x":        ">>>",
		"[HERE]":         "HERE",
		"here":           "",
		"=== RUN":        "===",
		"":               "",
		"XXXL shirt":     "",
		"listening on x": "",
	} {
		if got := logdebug.Marker(msg); got != want {
			t.Errorf("Marker(%q) = %q, want %q", msg, got, want)
		}
	}
}
