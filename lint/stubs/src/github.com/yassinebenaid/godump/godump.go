//go:build ignore

// Stub of github.com/yassinebenaid/godump for toil lint's type checker:
// real signatures, no bodies.
package godump

import "io"

type Dumper struct {
	Indentation       string
	HidePrivateFields bool
}

func (d *Dumper) Print(v any) error
func (d *Dumper) Println(v any) error
func (d *Dumper) Fprint(w io.Writer, v any) error
func (d *Dumper) Fprintln(w io.Writer, v any) error
func (d *Dumper) Sprint(v any) string
func (d *Dumper) Sprintln(v any) string

func Dump(v any) error
func DumpNC(v any) error
func Sdump(v any) string
func SdumpNC(v any) string
