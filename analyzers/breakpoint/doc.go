// Package breakpoint defines an analyzer that reports runtime.Breakpoint calls.
//
// # Analyzer breakpoint
//
// breakpoint: report runtime.Breakpoint calls left in code
//
// runtime.Breakpoint is Go's only "debugger statement": it stops a program
// running under Delve, and kills one running without a debugger (SIGTRAP).
// It is reported everywhere: library code, package main, tests and examples;
// only generated files are skipped.
//
// The suggested fix deletes the call (and an import only it used).
//
// Suppress one finding with //toil:ignore breakpoint REASON on the line or the
// line above, a file's with //toil:file-ignore breakpoint REASON, or use
// golangci-lint's //nolint:breakpoint // REASON.
package breakpoint
