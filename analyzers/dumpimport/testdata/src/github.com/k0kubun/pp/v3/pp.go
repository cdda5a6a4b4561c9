// Package pp is a test stub of github.com/k0kubun/pp/v3 with the real
// signatures of the API toil's analyzers match.
package pp

import "io"

type PrettyPrinter struct{ WithLineInfo bool }

var Default = New()

func New() *PrettyPrinter { return &PrettyPrinter{} }

func Print(a ...interface{}) (n int, err error)                               { return 0, nil }
func Printf(format string, a ...interface{}) (n int, err error)               { return 0, nil }
func Println(a ...interface{}) (n int, err error)                             { return 0, nil }
func Sprint(a ...interface{}) string                                          { return "" }
func Sprintf(format string, a ...interface{}) string                          { return "" }
func Sprintln(a ...interface{}) string                                        { return "" }
func Fprint(w io.Writer, a ...interface{}) (n int, err error)                 { return 0, nil }
func Fprintf(w io.Writer, format string, a ...interface{}) (n int, err error) { return 0, nil }
func Fprintln(w io.Writer, a ...interface{}) (n int, err error)               { return 0, nil }
func Errorf(format string, a ...interface{}) error                            { return nil }
func Fatal(a ...interface{})                                                  {}
func Fatalf(format string, a ...interface{})                                  {}
func Fatalln(a ...interface{})                                                {}

func (pp *PrettyPrinter) Print(a ...interface{}) (n int, err error)                 { return 0, nil }
func (pp *PrettyPrinter) Printf(format string, a ...interface{}) (n int, err error) { return 0, nil }
func (pp *PrettyPrinter) Println(a ...interface{}) (n int, err error)               { return 0, nil }
func (pp *PrettyPrinter) Sprint(a ...interface{}) string                            { return "" }
func (pp *PrettyPrinter) Sprintf(format string, a ...interface{}) string            { return "" }
func (pp *PrettyPrinter) Sprintln(a ...interface{}) string                          { return "" }
func (pp *PrettyPrinter) Fprint(w io.Writer, a ...interface{}) (n int, err error)   { return 0, nil }
func (pp *PrettyPrinter) Fprintf(w io.Writer, format string, a ...interface{}) (n int, err error) {
	return 0, nil
}
func (pp *PrettyPrinter) Fprintln(w io.Writer, a ...interface{}) (n int, err error) { return 0, nil }
func (pp *PrettyPrinter) Errorf(format string, a ...interface{}) error              { return nil }
func (pp *PrettyPrinter) Fatal(a ...interface{})                                    {}
func (pp *PrettyPrinter) Fatalf(format string, a ...interface{})                    {}
func (pp *PrettyPrinter) Fatalln(a ...interface{})                                  {}
