package fix

import (
	"github.com/davecgh/go-spew/spew"
)

func f(v any) {
	spew.Dump(v) // want `spew.Dump call dumps to stdout`
}
