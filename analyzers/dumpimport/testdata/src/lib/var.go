package lib

import "github.com/sanity-io/litter" // want `import of debug-dump library github.com/sanity-io/litter`

func g(v any) { litter.Config.Dump(v) }
