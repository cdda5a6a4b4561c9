package lib

import (
	"github.com/alecthomas/repr"
	sp "github.com/davecgh/go-spew/spew"
	"github.com/sanity-io/litter"
	_ "github.com/yassinebenaid/godump"
)

// Hashing and string forms are legitimate uses.
func hash(v any) string {
	cfg := sp.ConfigState{Indent: " "}
	_ = sp.Config.Sdump(v)
	var opts []repr.Option // a type outside the table, known from type information
	return cfg.Sdump(v) + litter.Sdump(v) + repr.String(v, opts...)
}
