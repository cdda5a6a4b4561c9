// Package renamed names kr/pretty "fmt": fmt.Println here is pretty's.
package renamed

import fmt "github.com/kr/pretty"

func Show(v any) { fmt.Println(v) }
