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
//   - _test.go files;
//   - Example functions in any file (func Example..., no receiver or
//     results; parameters are allowed outside tests): their output is the
//     point;
//   - the then-branch of an if whose condition names something like debug,
//     verbose or trace (if cfg.Verbose { fmt.Println(...) });
//   - a function that ends the process: its last statement is os.Exit or
//     log.Fatal* and it has no return, so every print in it is on the way
//     out (a usage or version printer, PrintVersionAndExit). Exiting in one
//     branch (if err != nil { fmt.Println(err); os.Exit(1) }) does not
//     count: that print is reported;
//   - a print wrapper: a call that is the whole result of a return and
//     prints the function's own parameters or receiver (return
//     fmt.Println(a...));
//   - a prompt: a print next to a read of the terminal, that is, a call of
//     fmt.Scan, Scanf or Scanln or golang.org/x/term.ReadPassword, or a
//     call handed os.Stdin or syscall.Stdin (bufio.NewReader(os.Stdin));
//     storing os.Stdin in a field is not reading it. Next to: the read is
//     in the print's block, or the read's block encloses the print (a
//     reader made before a prompt loop); a read elsewhere in the function
//     does not count;
//   - generated files.
//
// These exemptions look at the innermost function around the print and
// resolve what they match through types or the file's imports. A print
// that is deliberate but fits none of them (a library package that is
// really a program, like fzf's src) is configured as a command package,
// or suppressed with a directive that says why.
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
