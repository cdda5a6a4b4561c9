package dumptest

import (
	"testing"

	"github.com/davecgh/go-spew/spew"
)

func TestDump(t *testing.T) { spew.Dump(t) }
