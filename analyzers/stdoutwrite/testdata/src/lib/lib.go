package lib

import (
	"bytes"
	"fmt"
	"io"
	"os"
)

func f(w io.Writer, verbose bool) {
	fmt.Fprintln(os.Stdout, "x")    // want `fmt.Fprintln to os.Stdout in library code`
	fmt.Fprintf(os.Stderr, "%d", 1) // want `fmt.Fprintf to os.Stderr in library code`
	os.Stdout.Write([]byte("x"))    // want `os.Stdout.Write in library code`
	os.Stderr.WriteString("x")      // want `os.Stderr.WriteString in library code`
	fmt.Fprintln(w, "explicit writer")
	var buf bytes.Buffer
	fmt.Fprint(&buf, "buffer")
	out := os.Stdout
	fmt.Fprintln(out, "a writer the code chose")
	if verbose {
		fmt.Fprintln(os.Stderr, "verbose output")
	}
	fmt.Println("fmtprint's business")
}
