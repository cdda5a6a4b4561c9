package alias

import (
	f "fmt"
	r "runtime"
)

func Hello() {
	f.Println("hello")
	r.Breakpoint()
}
