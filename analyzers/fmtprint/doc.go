// Package fmtprint defines an analyzer that reports fmt.Print, Printf and
// Println in library code.
//
// # Analyzer fmtprint
//
// fmtprint: report fmt.Print, Printf and Println in library code
//
// A library that prints to standard output takes that stream away from the
// program using it; such calls are almost always debug leftovers. Return
// the text, take an io.Writer, or log.
//
// Printing is the product of a command, so these are exempt:
//
//   - command packages: package main or package cmd; a "cmd" element in the
//     import path; a package one of whose non-test files imports a CLI
//     framework (spf13/cobra, urfave/cli v1-v3, alecthomas/kong,
//     peterbourgon/ff ffcli, mitchellh/cli, google/subcommands); a package
//     whose import path matches the -fmtprint.cmdpatterns flag (toil.yaml:
//     lint.command-patterns), comma-separated patterns where "..." matches
//     any string and "*" one path element;
//   - _test.go files, and Example functions (their output is the test);
//   - the then-branch of an if whose condition names something like debug,
//     verbose or trace (if cfg.Verbose { fmt.Println(...) });
//   - generated files.
//
// Calls through a function value (f := fmt.Println; f()) are not reported:
// only direct calls are unambiguous. fmt.Fprint* and fmt.Sprint* are never
// reported here (see stdoutwrite).
//
// The suggested fix deletes the call when it is a statement of its own, and
// the fmt import if nothing else uses it.
//
// Suppress with //toil:ignore fmtprint REASON, //toil:file-ignore fmtprint
// REASON or //nolint:fmtprint // REASON.
package fmtprint
