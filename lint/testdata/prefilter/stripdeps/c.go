package stripdeps

import "log"

const debugMsg = "DEBUG: from a constant"

// id makes lg's type depend on a generic function's signature.
func id[T any](v T) T { return v }

var lg = id(newLogger())

func newLogger() *log.Logger {
	l := log.Default()
	return l
}

var made = func() *log.Logger { return newLogger() }()

type W struct{ *log.Logger }

func (W) Printf(format string, args ...any) {
	_, _ = format, args
}

func helper() int {
	var w W
	w.SetPrefix("")
	return 1
}

func init() {
	lg.SetFlags(0)
}
