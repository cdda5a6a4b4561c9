// Package build is toil dev's builder: it turns the services of a toil.yaml
// into binaries with one `go build` for all of them, on every batch of
// changes, and says which services got a new binary.
//
//	b, err := build.New(mod, lay, build.Options{})
//	...
//	res, err := b.Build(ctx, build.Reason{Files: changed})
//	switch {
//	case errors.Is(err, build.ErrSuperseded):
//		// a newer Build call took over; it builds these files too
//	case err != nil:
//		return err
//	}
//	for _, s := range res.Services {
//		if s.State == build.Changed {
//			roll(s.Name, s.Binary)
//		}
//	}
//
// # One go build, staged outputs
//
// A `run:` service gets a generated main (the one `toil run` builds, see
// internal/runner) mapped with -overlay to .toil/dev/main/<service>/main.go
// inside the module, so it may import the module's internal packages; a
// `main:` service is built as it is. All of them go to one
// `go build -o .toil/dev/stage/0/ pkg...` invocation: the go command loads
// and hashes the shared dependency graph once, compiles what changed once,
// and links only the binaries whose inputs changed, because the staged
// binary of an unaffected service already carries the build ID it would
// get and the go command leaves it alone. (Services whose binaries would
// have the same file name are spread over stage/1, stage/2, ...: one go
// build each. A package that cannot be loaded, say an import of nothing,
// stops the go command before it builds anything: the services of that go
// build are then built one by one, and the one that cannot load is built
// on its own until it can, so it does not hold the others back.)
//
// A staged binary is then compared with the service's previous one by its
// Go build ID, read from the binary's note, whose last part hashes the
// binary's content: a service is [Changed] only when that differs, so an
// edit that compiles to the same code (a comment on an existing line, a
// function inlined away) rolls nothing. A changed binary is hard-linked to
// .toil/dev/bin/<service>/<service>-<content id>, a path that is never
// written again: a running worker's binary is never replaced under it, and
// equal paths mean equal binaries. The newest [Options.Keep] others stay. The go command replaces a staged binary by
// renaming or by removing it first, never by writing into it, so the link
// in bin/ keeps the old content.
//
// # What a dev build leaves out
//
// -ldflags=-s -w (no DWARF, no symbol table: the link takes about half as
// long and the whole build a third less CPU, see bench/devloop/build;
// [Options.Debug] keeps them for a debugger) and
// -buildvcs=false (no git status per build, and no relink of every service
// after a commit). GOFLAGS and [Options.Flags] still apply; an -ldflags
// among them is kept and -s -w added to it. GOTMPDIR is .toil/dev/tmp, on
// the same file system as the stage, so a linked binary is renamed into
// place, not copied, and a killed build's leftovers are cleaned up.
//
// # Only what changed
//
// One `go list -deps` of every service's main package maps the files of
// the module (and of local replacements) to the services built from them.
// [Reason.Files] then selects the services to build: a _test.go file, a
// README or a package no service imports starts no go command at all. A
// new import, file, //go:embed pattern or go.mod change has the map listed
// again, beside the go build. Services whose last build failed are built
// every time until they succeed. (A run: service's generated main that
// stops compiling, because the service was renamed or became a struct, has
// the service looked for again and built once more.)
//
// # One build at a time
//
// A Build call cancels the build running or waiting, which returns
// [ErrSuperseded] with its files carried over into the newest build. A
// cancelled go build is killed with its whole process group (compiler,
// linker, toolexec wrappers) before Build returns. Build errors are not Go
// errors: the [Result] says which services failed, with the compiler's
// messages for each, and their previous binaries stay in place.
package build
