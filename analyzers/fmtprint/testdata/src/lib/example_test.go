package lib_test

import "fmt"

func ExampleLibrary() {
	fmt.Println("hello")
	// Output: hello
}
