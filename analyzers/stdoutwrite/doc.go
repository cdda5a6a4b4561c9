// Package stdoutwrite defines an analyzer that reports library code writing
// to os.Stdout or os.Stderr directly.
//
// # Analyzer stdoutwrite
//
// stdoutwrite: report writes to os.Stdout and os.Stderr in library code (opt-in)
//
// fmt.Fprint, Fprintf and Fprintln whose writer is exactly os.Stdout or
// os.Stderr, and os.Stdout.Write / WriteString (and os.Stderr's), are
// reported in library code: a library should take an io.Writer or log.
// This is a policy, not a bug finder, so the rule is off unless enabled.
// Writes to any other writer, including a variable that happens to hold
// os.Stdout, are never reported.
//
// Exempt as for fmtprint: command packages (see -stdoutwrite.cmdpatterns),
// _test.go files, Example functions, debug-gated if branches, functions
// that end the process, print wrappers, prompts and generated files. There is no suggested fix: the right writer is a design decision.
//
// Suppress with //toil:ignore stdoutwrite REASON, //toil:file-ignore
// stdoutwrite REASON or //nolint:stdoutwrite // REASON.
package stdoutwrite
