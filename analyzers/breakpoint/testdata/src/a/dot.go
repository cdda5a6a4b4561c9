package a

import . "runtime"

func dot() {
	Breakpoint() // want `runtime.Breakpoint call left in code`
}
