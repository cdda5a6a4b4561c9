//go:build ignore

// Stub of github.com/k0kubun/pp for toil lint's type checker: real
// signatures, no bodies.
package pp

import "io"

type PrettyPrinter struct {
	WithLineInfo bool
}

var Default *PrettyPrinter

func New() *PrettyPrinter

func (pp *PrettyPrinter) Print(a ...interface{}) (n int, err error)
func (pp *PrettyPrinter) Printf(format string, a ...interface{}) (n int, err error)
func (pp *PrettyPrinter) Println(a ...interface{}) (n int, err error)
func (pp *PrettyPrinter) Fprint(w io.Writer, a ...interface{}) (n int, err error)
func (pp *PrettyPrinter) Fprintf(w io.Writer, format string, a ...interface{}) (n int, err error)
func (pp *PrettyPrinter) Fprintln(w io.Writer, a ...interface{}) (n int, err error)
func (pp *PrettyPrinter) Sprint(a ...interface{}) string
func (pp *PrettyPrinter) Sprintf(format string, a ...interface{}) string
func (pp *PrettyPrinter) Sprintln(a ...interface{}) string
func (pp *PrettyPrinter) Errorf(format string, a ...interface{}) error
func (pp *PrettyPrinter) Fatal(a ...interface{})
func (pp *PrettyPrinter) Fatalf(format string, a ...interface{})
func (pp *PrettyPrinter) Fatalln(a ...interface{})
func (pp *PrettyPrinter) SetOutput(o io.Writer)
func (pp *PrettyPrinter) GetOutput() io.Writer
func (pp *PrettyPrinter) ResetOutput()
func (pp *PrettyPrinter) SetColoringEnabled(enabled bool)

func Print(a ...interface{}) (n int, err error)
func Printf(format string, a ...interface{}) (n int, err error)
func Println(a ...interface{}) (n int, err error)
func Fprint(w io.Writer, a ...interface{}) (n int, err error)
func Fprintf(w io.Writer, format string, a ...interface{}) (n int, err error)
func Fprintln(w io.Writer, a ...interface{}) (n int, err error)
func Sprint(a ...interface{}) string
func Sprintf(format string, a ...interface{}) string
func Sprintln(a ...interface{}) string
func Errorf(format string, a ...interface{}) error
func Fatal(a ...interface{})
func Fatalf(format string, a ...interface{})
func Fatalln(a ...interface{})
func SetDefaultOutput(o io.Writer)
func GetDefaultOutput() io.Writer
func ResetDefaultOutput()
func SetColoringEnabled(enabled bool)
func SetDefaultMaxDepth(v int)
