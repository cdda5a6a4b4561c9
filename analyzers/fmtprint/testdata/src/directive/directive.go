package directive

import "fmt"

func f() {
	fmt.Println("progress") //toil:ignore fmtprint progress output is this helper's job

	//toil:ignore fmtprint the banner is part of the library's contract
	fmt.Println("banner")

	fmt.Println("x") //nolint:fmtprint // golangci form

	//nolint:errcheck // another linter's directive does not suppress fmtprint
	fmt.Println("y") // want `fmt.Println call in library code`

	//toil:ignore dumpcall wrong rule
	fmt.Println("z") // want `fmt.Println call in library code`

	// toil:ignore fmtprint a space makes it an ordinary comment
	fmt.Println("w") // want `fmt.Println call in library code`

	//toil:ignore fmtprint
	fmt.Println("no reason: still suppressed; the directives analyzer reports it")
}

//toil:ignore fmtprint covers the whole function below
func g() {
	fmt.Println("a")
	fmt.Println("b")
}

func h() {
	fmt.Println("c") // want `fmt.Println call in library code`
}
