// Package redeclared imports two packages under one name, a compile error
// go/types resolves to the first import: fmt.Println here is fmt's.
package redeclared

import (
	"fmt"
	fmt "runtime"
)

func Show(v any) { fmt.Println(v) }
