package main

import "runtime"

func main() {
	runtime.Breakpoint() // want `runtime.Breakpoint call left in code`
}
