package a

import (
	"runtime"
	"testing"
)

func TestF(t *testing.T) {
	runtime.Breakpoint() // want `runtime.Breakpoint call left in code`
}
