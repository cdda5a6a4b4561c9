package lib

import "fmt"

func Greet(name string) string {
	fmt.Println("debug:", name) // want `fmt.Println call in library code`
	return "hello " + name
}
