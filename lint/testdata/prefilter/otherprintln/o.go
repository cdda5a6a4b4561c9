// Package otherprintln imports fmt but calls other packages' Println: no
// finding, and nothing to type-check.
package otherprintln

import (
	"fmt"
	"log"
)

type w struct{}

func (w) Println(...any) {}

func Hello() error {
	log.Println("logged")
	var x w
	x.Println("a method")
	return fmt.Errorf("no print")
}
