// Package directive has directives and nothing they could suppress.
package directive

func A() {} //nolint:gosec,errcheck // another linter's: not reported

// toil:ignore fmtprint spaced, so not a directive
func B() {}

//toil:frobnicate typo
func C() {}
