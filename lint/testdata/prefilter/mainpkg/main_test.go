package main

import (
	"runtime"
	"testing"
)

func TestMain(t *testing.T) {
	println("debugging")
	runtime.Breakpoint()
}
