package b

// A package-level function named print shadows the builtin in this package:
// every print(...) below is a call of it.
func print(v ...any) {}

func h() {
	print("mine")
}
