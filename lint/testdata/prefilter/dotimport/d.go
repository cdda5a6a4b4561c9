package dotimport

import . "fmt"

func Hello() { Println("hello") }
