// Package pretty is a test stub of github.com/kr/pretty with the real
// signatures of the API toil's analyzers match.
package pretty

import (
	"fmt"
	"io"
)

type Printfer interface {
	Printf(format string, a ...interface{})
}
type Logfer interface {
	Logf(format string, a ...interface{})
}

func Errorf(format string, a ...interface{}) error                            { return nil }
func Fprintf(w io.Writer, format string, a ...interface{}) (n int, err error) { return 0, nil }
func Log(a ...interface{})                                                    {}
func Logf(format string, a ...interface{})                                    {}
func Logln(a ...interface{})                                                  {}
func Print(a ...interface{}) (n int, errno error)                             { return 0, nil }
func Printf(format string, a ...interface{}) (n int, errno error)             { return 0, nil }
func Println(a ...interface{}) (n int, errno error)                           { return 0, nil }
func Sprint(a ...interface{}) string                                          { return "" }
func Sprintf(format string, a ...interface{}) string                          { return "" }
func Sprintln(a ...interface{}) string                                        { return "" }
func Formatter(x interface{}) (f fmt.Formatter)                               { return nil }
func Diff(a, b interface{}) (desc []string)                                   { return nil }
func Fdiff(w io.Writer, a, b interface{})                                     {}
func Pdiff(p Printfer, a, b interface{})                                      {}
func Ldiff(l Logfer, a, b interface{})                                        {}
