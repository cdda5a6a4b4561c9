package httpmod

import "fmt"

// ServeHTTP is library code: this leftover is missed because command.go imports cobra.
func ServeHTTP(path string) {
	fmt.Println("DEBUG path", path)
}
