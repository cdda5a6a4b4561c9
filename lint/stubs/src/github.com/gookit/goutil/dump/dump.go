//go:build ignore

// Stub of github.com/gookit/goutil/dump for toil lint's type checker: real
// signatures, no bodies.
package dump

import "io"

type Dumper struct {
	Output io.Writer
}

func NewDumper(out io.Writer, skip int) *Dumper
func Std() *Dumper
func Std2() *Dumper
func Reset()
func Reset2()

func (d *Dumper) Dump(vs ...any)
func (d *Dumper) Print(vs ...any)
func (d *Dumper) Println(vs ...any)
func (d *Dumper) Fprint(w io.Writer, vs ...any)

func V(vs ...any)
func P(vs ...any)
func Print(vs ...any)
func Println(vs ...any)
func Fprint(w io.Writer, vs ...any)
func Format(vs ...any) string
func NoLoc(vs ...any)
func Clear(vs ...any)
