// Package runner is the engine of `toil run PKG.NAME`: it finds a service by
// name in the user's module with no registration, generates the main that
// runs it, builds that main into toil's cache without writing anything into
// the user's tree, and supervises one or more worker processes.
//
// The pipeline, in the order [Builder.Binary] runs it:
//
//  1. Resolve: PKG.NAME names a directory under the main module's root (or a
//     full import path) and an identifier in it, matched case-insensitively.
//  2. Freshness: if a manifest from an earlier build lists inputs that all
//     still stat (or hash) the same, the cached binary runs with no go
//     command invoked at all.
//  3. Discover: go/packages type-checks the one package (its dependencies
//     come from export data) and the service is the exported func of type
//     func(context.Context, *toil.S) error, or exported struct type embedding
//     toil.Base[Cfg], whose name matches. Near misses are explained.
//  4. Generate and build: a main calling toil.Main is written to the cache and
//     mapped into the module with `go build -overlay`, so internal/ imports
//     work; the binary is keyed by the content of everything it is built from.
//
// [Run] then starts the binary as one worker (stdio passed through, exit
// code passed back) or N workers with prefixed output and a clean stop.
package runner
