// Package spew is a test stub of github.com/davecgh/go-spew/spew with the
// real signatures of the API toil's analyzers match.
package spew

import (
	"fmt"
	"io"
)

type ConfigState struct {
	Indent                  string
	MaxDepth                int
	DisableMethods          bool
	DisablePointerAddresses bool
	SortKeys                bool
}

var Config = ConfigState{Indent: " "}

func NewDefaultConfig() *ConfigState { return &ConfigState{Indent: " "} }

func Dump(a ...interface{})                                             {}
func Fdump(w io.Writer, a ...interface{})                               {}
func Sdump(a ...interface{}) string                                     { return "" }
func Print(a ...interface{}) (n int, err error)                         { return 0, nil }
func Printf(format string, a ...interface{}) (n int, err error)         { return 0, nil }
func Println(a ...interface{}) (n int, err error)                       { return 0, nil }
func Fprint(w io.Writer, a ...interface{}) (n int, err error)           { return 0, nil }
func Fprintf(w io.Writer, format string, a ...interface{}) (int, error) { return 0, nil }
func Fprintln(w io.Writer, a ...interface{}) (n int, err error)         { return 0, nil }
func Sprint(a ...interface{}) string                                    { return "" }
func Sprintf(format string, a ...interface{}) string                    { return "" }
func Sprintln(a ...interface{}) string                                  { return "" }
func Errorf(format string, a ...interface{}) (err error)                { return nil }
func NewFormatter(v interface{}) fmt.Formatter                          { return nil }

func (c *ConfigState) Dump(a ...interface{})                                     {}
func (c *ConfigState) Fdump(w io.Writer, a ...interface{})                       {}
func (c *ConfigState) Sdump(a ...interface{}) string                             { return "" }
func (c *ConfigState) Print(a ...interface{}) (n int, err error)                 { return 0, nil }
func (c *ConfigState) Printf(format string, a ...interface{}) (n int, err error) { return 0, nil }
func (c *ConfigState) Println(a ...interface{}) (n int, err error)               { return 0, nil }
func (c *ConfigState) Fprint(w io.Writer, a ...interface{}) (n int, err error)   { return 0, nil }
func (c *ConfigState) Fprintf(w io.Writer, format string, a ...interface{}) (n int, err error) {
	return 0, nil
}
func (c *ConfigState) Fprintln(w io.Writer, a ...interface{}) (n int, err error) { return 0, nil }
func (c *ConfigState) Sprint(a ...interface{}) string                            { return "" }
func (c *ConfigState) Sprintf(format string, a ...interface{}) string            { return "" }
func (c *ConfigState) Sprintln(a ...interface{}) string                          { return "" }
func (c *ConfigState) Errorf(format string, a ...interface{}) (err error)        { return nil }
func (c *ConfigState) NewFormatter(v interface{}) fmt.Formatter                  { return nil }
