package lib

import (
	"github.com/davecgh/go-spew/spew" // want `import of debug-dump library github.com/davecgh/go-spew/spew in library code`
)

func f(v any) { spew.Dump(v) }
