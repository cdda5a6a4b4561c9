package a

func f(x int) {
	println("x =", x) // want `builtin println call left in code`
	print(x)          // want `builtin print call left in code`
	if x > 0 {
		println := func(args ...any) {} // a local named println
		println(x)
	}
}

type logger struct{}

func (logger) print(v any) {}

func g(l logger) {
	l.print(1) // a method named print
}
