package main

import (
	"github.com/davecgh/go-spew/spew"
	"github.com/k0kubun/pp/v3"
)

func main() {
	spew.Dump(1)  // want `spew.Dump call dumps to stdout`
	pp.Println(1) // pp is a command's pretty printer
}
