package fix

func f(x int) {
	// want +1 `builtin println call left in code`
	println("x =", x)
}
