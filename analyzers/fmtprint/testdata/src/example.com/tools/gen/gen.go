// Package gen is a command package only by configuration (cmdpatterns).
package gen

import "fmt"

func Run() { fmt.Println("output") }
