package parens

import "fmt"

func Hello() { (fmt.Printf)("%d\n", 1) }
