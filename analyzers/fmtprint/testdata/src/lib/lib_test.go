package lib

import (
	"fmt"
	"testing"
)

func TestLibrary(t *testing.T) {
	fmt.Println("tests print on purpose")
}
