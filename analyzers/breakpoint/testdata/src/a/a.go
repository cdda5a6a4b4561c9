package a

import (
	"reflect"
	"runtime"
	rt "runtime"
)

func Breakpoint() {}

func f() {
	runtime.Breakpoint() // want `runtime.Breakpoint call left in code: it traps with SIGTRAP`
	rt.Breakpoint()      // want `runtime.Breakpoint call left in code`
	Breakpoint()         // the package's own function
	g := runtime.Breakpoint
	_ = g // a function value is not a call
	_ = reflect.ValueOf(runtime.Breakpoint)
	if true {
		defer runtime.Breakpoint() // want `runtime.Breakpoint call left in code`
	}
}

// Generic code is checked too.
func generic[T any](v T) T {
	runtime.Breakpoint() // want `runtime.Breakpoint call left in code`
	return v
}
