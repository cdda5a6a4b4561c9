package fixsingle

import "fmt"

func f() {
	// want +1 `fmt.Println call`
	fmt.Println("x")
}
