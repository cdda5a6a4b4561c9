package b

import (
	"testing"

	"github.com/davecgh/go-spew/spew"
)

func TestDump(t *testing.T) {
	spew.Dump(t.Name()) // want `spew.Dump call dumps to stdout`
}

func ExampleDump() {
	spew.Dump(1) // an example's output is its test
	// Output: (int) 1
}
