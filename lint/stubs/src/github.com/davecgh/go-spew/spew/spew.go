//go:build ignore

// Stub of github.com/davecgh/go-spew/spew for toil lint's type checker:
// real signatures, no bodies.
package spew

import (
	"fmt"
	"io"
)

type ConfigState struct {
	Indent                  string
	MaxDepth                int
	DisableMethods          bool
	DisablePointerMethods   bool
	DisablePointerAddresses bool
	DisableCapacities       bool
	ContinueOnMethod        bool
	SortKeys                bool
	SpewKeys                bool
}

var Config ConfigState

func NewDefaultConfig() *ConfigState

func (c *ConfigState) Dump(a ...interface{})
func (c *ConfigState) Errorf(format string, a ...interface{}) (err error)
func (c *ConfigState) Fdump(w io.Writer, a ...interface{})
func (c *ConfigState) Fprint(w io.Writer, a ...interface{}) (n int, err error)
func (c *ConfigState) Fprintf(w io.Writer, format string, a ...interface{}) (n int, err error)
func (c *ConfigState) Fprintln(w io.Writer, a ...interface{}) (n int, err error)
func (c *ConfigState) NewFormatter(v interface{}) fmt.Formatter
func (c *ConfigState) Print(a ...interface{}) (n int, err error)
func (c *ConfigState) Printf(format string, a ...interface{}) (n int, err error)
func (c *ConfigState) Println(a ...interface{}) (n int, err error)
func (c *ConfigState) Sdump(a ...interface{}) string
func (c *ConfigState) Sprint(a ...interface{}) string
func (c *ConfigState) Sprintf(format string, a ...interface{}) string
func (c *ConfigState) Sprintln(a ...interface{}) string

func Dump(a ...interface{})
func Errorf(format string, a ...interface{}) (err error)
func Fdump(w io.Writer, a ...interface{})
func Fprint(w io.Writer, a ...interface{}) (n int, err error)
func Fprintf(w io.Writer, format string, a ...interface{}) (n int, err error)
func Fprintln(w io.Writer, a ...interface{}) (n int, err error)
func NewFormatter(v interface{}) fmt.Formatter
func Print(a ...interface{}) (n int, err error)
func Printf(format string, a ...interface{}) (n int, err error)
func Println(a ...interface{}) (n int, err error)
func Sdump(a ...interface{}) string
func Sprint(a ...interface{}) string
func Sprintf(format string, a ...interface{}) string
func Sprintln(a ...interface{}) string
