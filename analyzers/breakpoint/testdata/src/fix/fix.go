package fix

import "runtime"

func f() {
	// want +1 `runtime.Breakpoint call left in code`
	runtime.Breakpoint()
	println("stays") // not breakpoint's business
}
