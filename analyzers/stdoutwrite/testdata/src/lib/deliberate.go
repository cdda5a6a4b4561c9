package lib

import (
	"bufio"
	"fmt"
	"os"
)

// PrintAndDie is nats-server's: the message, then the end of the process.
func PrintAndDie(msg string) {
	fmt.Fprintln(os.Stderr, msg)
	os.Exit(1)
}

// dieIfBad exits in a branch only: a library killing its caller.
func dieIfBad(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, err) // want `fmt.Fprintln to os.Stderr in library code`
		os.Exit(1)
	}
}

// Fprint forwards its operands to stdout: a print wrapper.
func Fprint(a ...any) (int, error) {
	return fmt.Fprint(os.Stdout, a...)
}

func confirm() bool {
	fmt.Fprint(os.Stderr, "continue? [y/N] ")
	line, _ := bufio.NewReader(os.Stdin).ReadString('\n')
	return line == "y\n"
}

func announce() {
	fmt.Fprint(os.Stderr, "continue? [y/N] ") // want `fmt.Fprint to os.Stderr in library code`
}

func ExampleFprint() {
	fmt.Fprintln(os.Stdout, "example output")
}
