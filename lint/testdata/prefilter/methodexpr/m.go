package methodexpr

import "github.com/davecgh/go-spew/spew"

func Show(c *spew.ConfigState, v any) {
	(*spew.ConfigState).Dump(c, v)
}
