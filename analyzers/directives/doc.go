// Package directives defines an analyzer that reports toil's suppression
// directives that are malformed or suppress nothing.
//
// # Analyzer directives
//
// directives: report malformed and unused //toil:ignore, //toil:file-ignore and //nolint directives
//
// toil's rules honour three directives:
//
//	//toil:ignore RULE[,RULE...] REASON
//	//toil:file-ignore RULE[,RULE...] REASON
//	//nolint:RULE[,RULE...] // REASON
//
// //toil:ignore and //nolint after code cover that line; on a line of their
// own they cover the next line and all of the statement or declaration that
// starts there (above func: the function; above package: the file).
// //toil:file-ignore covers its whole file, wherever it is written.
// Bare //nolint, //nolint:all and //nolint:toil cover every rule.
//
// This analyzer reports:
//
//   - a directive without a reason (it still suppresses: fix the directive,
//     not the finding);
//   - an unknown rule name in //toil:ignore or //toil:file-ignore, an empty
//     rule list, and an unknown //toil: verb;
//   - "// toil:ignore" and "// nolint:RULE" written with a space, which Go
//     tooling does not treat as directives;
//   - a rule named by a directive that suppressed none of that rule's
//     findings, when that rule ran: stale directives hide future findings.
//
// //nolint directives naming only other linters are ignored, and bare
// //nolint, //nolint:all and //nolint:toil are never reported as unused or
// missing a reason here: golangci-lint's nolintlint is the judge of those.
// Directives in generated files are ignored, like the files.
package directives
