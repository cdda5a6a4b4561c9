// Package repr is a test stub of github.com/alecthomas/repr with the real
// signatures of the API toil's analyzers match.
package repr

import "io"

type Option func(o *Printer)

type Printer struct{ w io.Writer }

func New(w io.Writer, options ...Option) *Printer { return &Printer{w: w} }
func (p *Printer) Print(vs ...any)                {}
func (p *Printer) Println(vs ...any)              {}
func String(v any, options ...Option) string      { return "" }
func Println(vs ...any)                           {}
func Print(vs ...any)                             {}
func Indent(indent string) Option                 { return nil }
