// Package dump is a test stub of github.com/gookit/goutil/dump with the real
// signatures of the API toil's analyzers match.
package dump

import "io"

type Dumper struct{ out io.Writer }

func NewDumper(out io.Writer, skip int) *Dumper { return &Dumper{out: out} }
func Std() *Dumper                              { return nil }
func Std2() *Dumper                             { return nil }
func V(vs ...any)                               {}
func P(vs ...any)                               {}
func Print(vs ...any)                           {}
func Println(vs ...any)                         {}
func Fprint(w io.Writer, vs ...any)             {}
func Format(vs ...any) string                   { return "" }
func NoLoc(vs ...any)                           {}
func Clear(vs ...any)                           {}
func (d *Dumper) Dump(vs ...any)                {}
func (d *Dumper) Print(vs ...any)               {}
func (d *Dumper) Println(vs ...any)             {}
func (d *Dumper) Fprint(w io.Writer, vs ...any) {}
