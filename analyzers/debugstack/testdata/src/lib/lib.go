package lib

import (
	"log"
	"runtime/debug"
)

type config struct{ Debug bool }

func leftover() {
	debug.PrintStack() // want `debug.PrintStack call outside a recover handler`
}

func handler() {
	defer func() {
		if r := recover(); r != nil {
			log.Print(r)
			debug.PrintStack()
		}
	}()
}

func recovers() {
	if r := recover(); r != nil {
		debug.PrintStack()
	}
}

func gated(cfg config) {
	if cfg.Debug {
		debug.PrintStack()
	}
	_ = debug.Stack() // returns the trace: fine
}

// A user function named recover is not the builtin.
func notRecover() {
	recover := func() any { return nil }
	_ = recover()
	debug.PrintStack() // want `debug.PrintStack call outside a recover handler`
}
