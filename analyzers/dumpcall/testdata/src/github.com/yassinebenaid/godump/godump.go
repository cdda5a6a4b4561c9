// Package godump is a test stub of github.com/yassinebenaid/godump with the
// real signatures of the API toil's analyzers match.
package godump

import "io"

type Dumper struct {
	Indentation       string
	HidePrivateFields bool
}

func Dump(v any) error                                { return nil }
func DumpNC(v any) error                              { return nil }
func Sdump(v any) string                              { return "" }
func SdumpNC(v any) string                            { return "" }
func (d *Dumper) Print(v any) error                   { return nil }
func (d *Dumper) Println(v any) error                 { return nil }
func (d *Dumper) Fprint(dst io.Writer, v any) error   { return nil }
func (d *Dumper) Fprintln(dst io.Writer, v any) error { return nil }
func (d *Dumper) Sprint(v any) string                 { return "" }
func (d *Dumper) Sprintln(v any) string               { return "" }
