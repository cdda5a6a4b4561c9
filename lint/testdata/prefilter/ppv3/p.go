// Package ppv3 imports a major version: the import's name is the package
// clause's (pp), not the path's last element.
package ppv3

import "github.com/k0kubun/pp/v3"

func Show(v any) { pp.Println(v) }
