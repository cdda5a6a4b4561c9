package a

import (
	"testing"

	"github.com/davecgh/go-spew/spew"
)

func TestDump(t *testing.T) {
	spew.Dump(t.Name()) // off in tests by default
}

func ExampleDump() {
	spew.Dump(1)
	// Output: (int) 1
}
