// Package stripdeps has one file that may report (this one), whose calls
// resolve through declarations in files where no rule can report (b.go,
// c.go): the engine type-checks those without their function bodies, and
// every call here must resolve as in a full type-check.
package stripdeps

import "fmt"

func Report(w W) {
	lg.Print(debugMsg)           // logdebug: lg's type and the constant come from c.go
	made.Println("DEBUG: made")  // logdebug: made is a package-level closure's result
	w.Println("DEBUG: promoted") // logdebug: promoted from W's embedded *log.Logger
	w.Printf("DEBUG: %d", 1)     // none: W's own Printf (c.go) hides the promoted one
	print("not the builtin")     // none: print is a function of b.go
	println("not the builtin")   // none: println is a package-level variable of b.go
	fmt.Println(helper())        // fmtprint
}
