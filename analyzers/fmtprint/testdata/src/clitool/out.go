package clitool

import "fmt"

// Another file of a package that imports cobra: still a command package.
func report() { fmt.Println("done") }
