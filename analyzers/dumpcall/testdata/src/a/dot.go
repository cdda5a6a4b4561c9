package a

import . "github.com/davecgh/go-spew/spew"

func dotImport(v any) {
	Dump(v) // want `spew.Dump call dumps to stdout`
	_ = Sdump(v)
}
