package a

import "testing"

func TestF(t *testing.T) {
	println("tests too") // want `builtin println call left in code`
}
