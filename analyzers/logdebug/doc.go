// Package logdebug defines an analyzer that reports log.Print calls whose
// message starts with a debug marker.
//
// # Analyzer logdebug
//
// logdebug: report log.Print* calls whose constant message starts with a debug marker (opt-in)
//
// log.Print, Printf and Println (the package functions and *log.Logger's
// methods) whose first argument is a constant string starting with a marker
// people type while debugging are reported: DEBUG, XXX or HERE as a whole
// word, debug: in any case, >>>, !!!, ===. Leading spaces and an opening [ are
// skipped. Only constants count; a message built at run time is never
// reported. A heuristic, so off unless enabled.
//
// Exempt: _test.go files, command packages (see -logdebug.cmdpatterns),
// generated files. The suggested fix deletes the call.
//
// Suppress with //toil:ignore logdebug REASON, //toil:file-ignore logdebug
// REASON or //nolint:logdebug // REASON.
package logdebug
