// Package templates holds the templates of `toil new`. Each template is a
// directory of real Go packages that build, vet and pass their tests as
// part of toil's own `go test ./...`; package scaffold renders one into a
// new module by rewriting its package name, its service's identifier and
// its import paths with go/ast. files/ holds the non-Go files every
// generated module gets, as text/template sources.
//
// In every template the package is hello (directory hello/) and the
// service identifier is the one Service names, so the renderer knows what
// to rename.
package templates

import "embed"

// FS holds the templates: func/, worker/, http/ and files/.
//
//go:embed func worker http files
var FS embed.FS

// Template describes one template of `toil new`.
type Template struct {
	Name    string // the --template value and the directory in FS
	Summary string // one line for --help
	Service string // the service's identifier in the template's Go code
	Listens bool   // it serves HTTP, so toil.yaml gives it a listen address
}

// Package is the package name (and directory) of every template's Go code.
const Package = "hello"

// ImportRoot is the import path of a template's directory inside toil's
// module; the renderer replaces it with the new module's path.
func ImportRoot(tmpl string) string { return "github.com/toilhq/toil/templates/" + tmpl }

// Version is recorded in .toil/template.yaml; bump it when a template's
// output changes, so a later `toil update` knows what it generated.
const Version = 1

// All lists the templates, the default first.
var All = []Template{
	{Name: "http", Summary: "an HTTP server on the toil.HTTP mixin", Service: "Server", Listens: true},
	{Name: "worker", Summary: "a struct with a Run loop, stopped on SIGTERM", Service: "Worker"},
	{Name: "func", Summary: "a plain function service that runs once", Service: "Run"},
}

// Lookup returns the template called name.
func Lookup(name string) (Template, bool) {
	for _, t := range All {
		if t.Name == name {
			return t, true
		}
	}
	return Template{}, false
}
