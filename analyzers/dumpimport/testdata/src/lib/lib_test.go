package lib

import (
	"testing"

	"github.com/davecgh/go-spew/spew"
)

func TestF(t *testing.T) { spew.Dump(t) }
