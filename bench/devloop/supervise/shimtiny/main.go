// Command shimtiny is the shim alone: what starting a worker through toil
// would cost if toil's binary initialised nothing else.
package main

import (
	"os"

	"github.com/toilhq/toil/internal/shim"
)

func main() {
	if shim.Invoked(os.Args[1:]) {
		shim.Main(os.Args[1:])
	}
	os.Exit(2)
}
