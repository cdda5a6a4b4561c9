// Package embed reaches a dump method through an embedded field declared
// in another file: the calling file does not import spew.
package embed

import "github.com/davecgh/go-spew/spew"

type T struct{ *spew.ConfigState }
