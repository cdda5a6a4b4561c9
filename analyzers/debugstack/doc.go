// Package debugstack defines an analyzer that reports debug.PrintStack calls
// outside recover handlers.
//
// # Analyzer debugstack
//
// debugstack: report runtime/debug.PrintStack outside recover handlers (opt-in)
//
// debug.PrintStack writes a goroutine's stack to standard error. Inside a
// recover handler that is a deliberate crash report; elsewhere it is usually
// a leftover from chasing a bug. A call is exempt when the function (or
// function literal) containing it also calls the builtin recover, when it is
// in the then-branch of an if whose condition names something like debug,
// verbose or trace, in command packages (see -debugstack.cmdpatterns), in
// _test.go files and in generated files. Off unless enabled. No suggested
// fix: log debug.Stack() instead if the trace is wanted.
//
// Suppress with //toil:ignore debugstack REASON, //toil:file-ignore
// debugstack REASON or //nolint:debugstack // REASON.
package debugstack
