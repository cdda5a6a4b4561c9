// Package tool is under a cmd/ path element: a command package.
package tool

import "fmt"

func Run() { fmt.Println("output") }
