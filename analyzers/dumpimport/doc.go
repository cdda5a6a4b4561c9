// Package dumpimport defines an analyzer that reports imports of debug-dump
// libraries in library code.
//
// # Analyzer dumpimport
//
// dumpimport: report imports of debug-dump libraries in library code (opt-in)
//
// An import of go-spew, k0kubun/pp (any major version), sanity-io/litter,
// kr/pretty, alecthomas/repr, yassinebenaid/godump or gookit/goutil/dump is
// reported, at the import, unless every use of it in the file is one of the
// library's string-returning or explicit-writer functions (spew.Sdump,
// litter.Sdump, repr.String, ...), one of its types (spew.ConfigState), or a
// method call of those kinds on one of its variables (spew.Config.Sdump).
// Blank imports are never reported. Uses are resolved through the import
// table, so this works even where the library's types are not loaded.
//
// Policy, so off unless enabled. Exempt: _test.go files, command packages
// (see -dumpimport.cmdpatterns), generated files. No suggested fix.
//
// Suppress with //toil:ignore dumpimport REASON (on or above the import),
// //toil:file-ignore dumpimport REASON or //nolint:dumpimport // REASON.
package dumpimport
