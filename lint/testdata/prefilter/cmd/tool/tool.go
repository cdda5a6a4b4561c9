package tool

import "fmt"

func Hello() { fmt.Println("a cmd path element: a command package") }
