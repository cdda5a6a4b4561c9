package fix

import (
	"fmt"
	"os"
	"strings"
)

func statements(name string, names []string) {
	// want +1 `fmt.Println call`
	fmt.Println("alone on its line: the line goes")
	// want +1 `fmt.Println call`
	fmt.Println(strings.ToUpper(name)) // the comment stays, strings goes
	// want +1 `fmt.Println call`
	defer fmt.Println("deferred")
	// want +1 `fmt.Println call`
	go fmt.Println("goroutine")
	// want +1 `fmt.Println call`
	fmt.Println(
		"several lines",
	)
	if len(name) > 3 {
		// want +1 `fmt.Println call`
		fmt.Println(name)
	}

	switch name {
	case "a":
		// want +1 `fmt.Println call`
		fmt.Println("in a case")
	}

	// No fix: the result is used.
	n, err := fmt.Println(name) // want `fmt.Println call`
	_, _ = n, err
	if _, err := fmt.Println(name); err != nil { // want `fmt.Println call`
		return
	}

	// No fix: deleting the last use of a local variable breaks the build.
	local := name + "!"
	fmt.Println(local) // want `fmt.Println call`
	for _, v := range names {
		fmt.Println(v) // want `fmt.Println call`
	}
	assigned := ""
	assigned = name
	fmt.Println(assigned) // want `fmt.Println call`

	// No fix: a labeled statement would lose its statement.
L:
	fmt.Println("labeled") // want `fmt.Println call`
	goto L
}

func params(name string) {
	// Parameters may go unused: fixable.
	// want +1 `fmt.Println call`
	fmt.Println(name)
	fmt.Fprintln(os.Stderr, "fmt stays imported")
}
