//go:build ignore

// Stub of github.com/sanity-io/litter for toil lint's type checker: real
// signatures, no bodies. Options fields of types from other packages are left out.
package litter

type Options struct {
	Compact                   bool
	StripPackageNames         bool
	HidePrivateFields         bool
	HideZeroValues            bool
	HomePackage               string
	Separator                 string
	StrictGo                  bool
	DisablePointerReplacement bool
}

var Config Options

func (o Options) Dump(values ...interface{})
func (o Options) Sdump(values ...interface{}) string

func Dump(values ...interface{})
func D(values ...interface{})
func Sdump(values ...interface{}) string
