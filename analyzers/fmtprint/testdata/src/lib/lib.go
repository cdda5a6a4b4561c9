package lib

import (
	"fmt"
	f "fmt"
	"os"
	"reflect"
)

type config struct{ Verbose, Debug bool }

func Library(cfg config, name string) string {
	fmt.Println("hello", name)     // want `fmt.Println call in library code`
	fmt.Printf("hello %s\n", name) // want `fmt.Printf call in library code`
	fmt.Print(name)                // want `fmt.Print call in library code`
	f.Println(name)                // want `fmt.Println call in library code`
	n, _ := fmt.Println(name)      // want `fmt.Println call in library code`
	_ = n

	// Writers and strings are not fmtprint's business.
	fmt.Fprintln(os.Stderr, name)
	s := fmt.Sprintf("hello %s", name)

	// Function values and reflection are not calls of fmt.Println.
	p := fmt.Println
	p(name)
	_ = reflect.ValueOf(fmt.Println)

	// Output a user switches on is not a leftover; the else-branch is.
	if cfg.Verbose {
		fmt.Println("verbose:", name)
	} else {
		fmt.Println("quiet:", name) // want `fmt.Println call in library code`
	}
	if debug := os.Getenv("X_DEBUG") != ""; debug {
		fmt.Println(name)
	}
	return s
}

// printer has a method named Println: not fmt's.
type printer struct{}

func (printer) Println(a ...any) {}

func Shadowed(fmt printer) {
	fmt.Println("not the fmt package")
}
