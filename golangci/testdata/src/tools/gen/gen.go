// Package gen is a command package by the configured command-patterns:
// printing is its output.
package gen

import "fmt"

func Run() {
	fmt.Println("generated")
}
