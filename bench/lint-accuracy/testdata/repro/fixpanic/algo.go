// Package algo mirrors fzf's src/algo/algo.go: two fixable prints are the file's only uses of
// fmt, and an import follows "fmt". toil lint --fix panics (nil *ast.ImportSpec) instead of
// dropping the import.
package algo

import (
	"fmt"
	"os"
)

var sep = os.PathSeparator

func debugV2(xs []int) {
	fmt.Print("  ")
	fmt.Println()
}
