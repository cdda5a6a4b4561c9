// Package lib does not match example.com/tools/...: still library code.
package lib

import "fmt"

func Run() { fmt.Println("output") } // want `fmt.Println call in library code`
