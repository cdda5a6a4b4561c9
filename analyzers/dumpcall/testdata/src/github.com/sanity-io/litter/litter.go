// Package litter is a test stub of github.com/sanity-io/litter with the real
// signatures of the API toil's analyzers match.
package litter

type Options struct {
	Compact           bool
	StripPackageNames bool
	HomePackage       string
}

var Config = Options{}

func Dump(value ...interface{})                     {}
func D(value ...interface{})                        {}
func Sdump(value ...interface{}) string             { return "" }
func (o Options) Dump(value ...interface{})         {}
func (o Options) Sdump(value ...interface{}) string { return "" }
