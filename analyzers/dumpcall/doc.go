// Package dumpcall defines an analyzer that reports calls of debug-dump
// libraries that write to standard output or error.
//
// # Analyzer dumpcall
//
// dumpcall: report debug-dump calls that write to stdout or stderr
//
// Reported, resolved through type information:
//
//   - github.com/davecgh/go-spew/spew: Dump, Print, Printf, Println, and the
//     same methods of *spew.ConfigState;
//   - github.com/k0kubun/pp (and /v2, /v3): Print, Printf, Println, Fatal,
//     Fatalf, Fatalln, and the same methods of *pp.PrettyPrinter;
//   - github.com/sanity-io/litter: Dump, D, and litter.Options.Dump;
//   - github.com/kr/pretty: Print, Printf, Println, Log, Logf, Logln;
//   - github.com/alecthomas/repr: Print, Println, and (*repr.Printer).Print
//     and Println called directly on repr.New(os.Stdout or os.Stderr);
//   - github.com/yassinebenaid/godump: Dump, DumpNC, (*godump.Dumper).Print
//     and Println;
//   - github.com/gookit/goutil/dump: P, V, Print, Println, NoLoc, Clear, and
//     (*dump.Dumper).Dump, Print and Println called directly on dump.Std(),
//     dump.Std2() or dump.NewDumper(os.Stdout or os.Stderr, ...);
//   - the writer forms (Fdump, Fprint, Fprintf, Fprintln) only when the
//     writer is exactly os.Stdout or os.Stderr.
//
// Never reported: functions returning a string (Sdump, Sprint*, String,
// Format), diffs, formatters, and writes to any other writer; these have
// real uses (hashing with spew.ConfigState.Fprintf, test diffs).
//
// Reported in library code and package main alike, except pp, which some
// command packages use as their output (pp calls in command packages are
// exempt; see -dumpcall.cmdpatterns). Off in _test.go files unless
// -dumpcall.tests is set (toil.yaml: lint.dump-tests); Example
// functions in any file (their output is the point), and generated files
// are always exempt. Calls
// through a function value are not reported.
//
// The suggested fix deletes the call when it is a statement of its own, and
// the import if nothing else uses it.
//
// Suppress with //toil:ignore dumpcall REASON, //toil:file-ignore dumpcall
// REASON or //nolint:dumpcall // REASON.
package dumpcall
