//go:build ignore

// Stub of github.com/alecthomas/repr for toil lint's type checker: real
// signatures, no bodies.
package repr

import "io"

type Option func(o *Printer)

type Printer struct {
	indent string
}

func New(w io.Writer, options ...Option) *Printer

func (p *Printer) Print(vs ...interface{})
func (p *Printer) Println(vs ...interface{})

func Print(v interface{}, options ...Option)
func Println(v interface{}, options ...Option)
func String(v interface{}, options ...Option) string
func Indent(indent string) Option
func NoIndent() Option
func OmitEmpty(omitEmpty bool) Option
func IgnoreGoStringer() Option
func Hide(ts ...interface{}) Option
