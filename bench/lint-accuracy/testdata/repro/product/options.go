// Package fzf mirrors fzf's src/options.go: the program lives in a library package that main
// imports; it parses its own flags, so nothing marks it as a command package. Printing the
// selection is fzf's output. Only configuration can say so (toil.yaml lint.command-patterns).
package fzf

import "fmt"

// Options holds fzf's settings.
type Options struct{ Printer func(string) }

func defaultOptions() *Options {
	return &Options{Printer: func(s string) { fmt.Println(s) }}
}
