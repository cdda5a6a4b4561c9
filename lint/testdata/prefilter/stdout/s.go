package stdout

import (
	"fmt"
	"os"
)

func Hello() {
	os.Stdout.Write([]byte("hi\n"))
	fmt.Fprintln(os.Stderr, "hi")
}
