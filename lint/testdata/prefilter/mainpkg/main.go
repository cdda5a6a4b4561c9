package main

import "fmt"

func main() { fmt.Println("output, not a leftover") }
