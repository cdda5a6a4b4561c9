package lib

import . "fmt"

func dot() {
	Println("dot import") // want `fmt.Println call in library code`
}
