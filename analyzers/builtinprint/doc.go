// Package builtinprint defines an analyzer that reports calls of the
// builtin print and println functions.
//
// # Analyzer builtinprint
//
// builtinprint: report calls of the builtin print and println
//
// The builtins print and println write to standard error, unbuffered, in a
// format the language does not promise to keep; outside bootstrapping code
// they are debug leftovers. Only the builtins are reported, resolved through
// type information: a function, method or variable of your own named print
// is not. Reported everywhere, tests and package main included; generated
// files are skipped.
//
// The suggested fix deletes the call.
//
// Suppress with //toil:ignore builtinprint REASON, //toil:file-ignore
// builtinprint REASON or //nolint:builtinprint // REASON.
package builtinprint
