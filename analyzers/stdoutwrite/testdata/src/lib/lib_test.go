package lib

import (
	"fmt"
	"os"
	"testing"
)

func TestF(t *testing.T) { fmt.Fprintln(os.Stdout, "tests may") }
