//go:build ignore

// Stub of github.com/kr/pretty for toil lint's type checker: real
// signatures, no bodies.
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

func Print(a ...interface{}) (n int, errno error)
func Printf(format string, a ...interface{}) (n int, errno error)
func Println(a ...interface{}) (n int, errno error)
func Log(a ...interface{})
func Logf(format string, a ...interface{})
func Logln(a ...interface{})
func Sprint(a ...interface{}) string
func Sprintf(format string, a ...interface{}) string
func Sprintln(a ...interface{}) string
func Fprintf(w io.Writer, format string, a ...interface{}) (n int, errno error)
func Errorf(format string, a ...interface{}) error
func Formatter(x interface{}) (f fmt.Formatter)
func Diff(a, b interface{}) (desc []string)
func Fdiff(w io.Writer, a, b interface{})
func Pdiff(p Printfer, a, b interface{})
func Ldiff(l Logfer, a, b interface{})
