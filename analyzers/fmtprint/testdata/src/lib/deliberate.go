package lib

import (
	"bufio"
	"fmt"
	"log"
	"os"
	"os/exec"
	"syscall"

	"golang.org/x/term"
)

// Exemptions for output the code around it shows is meant, each with a
// near-miss that is still a leftover.

// PrintVersionAndExit is a command's -v path living in a library (nats-server).
func PrintVersionAndExit() {
	fmt.Printf("server: v%s\n", "1.2.3")
	for _, s := range []string{"a", "b"} {
		fmt.Println(s)
	}
	os.Exit(0)
}

// usageAndDie ends with log.Fatal: every path through it ends the process.
func usageAndDie(l *log.Logger) {
	fmt.Println("usage: server [flags]")
	l.Fatalf("bad flags")
}

func fatalHelp() {
	fmt.Println("usage: server [flags]")
	log.Fatal("bad flags")
}

// loadConfig exits in a branch only (etcd's config loader): a library
// killing its caller; the print is reported.
func loadConfig(path string) error {
	if path == "" {
		fmt.Println("no config file") // want `fmt.Println call in library code`
		os.Exit(1)
	}
	return nil
}

// exitOrReturn may return before it exits: the print is not on the way out.
func exitOrReturn(ok bool) {
	if ok {
		fmt.Println("all good") // want `fmt.Println call in library code`
		return
	}
	os.Exit(2)
}

// exitInClosure: the closure ends in os.Exit, but the print is outside it.
func exitInClosure() {
	fmt.Println("before") // want `fmt.Println call in library code`
	die := func() {
		fmt.Println("dying")
		os.Exit(1)
	}
	die()
}

// exitNotLast: os.Exit is not the last statement.
func exitNotLast(code int) {
	fmt.Println("exiting") // want `fmt.Println call in library code`
	os.Exit(code)
	fmt.Println("unreachable") // want `fmt.Println call in library code`
}

// notOsExit: a function of our own named Exit is not os.Exit.
func notOsExit() {
	fmt.Println("bye") // want `fmt.Println call in library code`
	Exit(0)
}

func Exit(code int) {}

type state struct{ prefix string }

// Println is a print wrapper: its contract is to print its operands.
func Println(a ...any) (n int, err error) {
	return fmt.Println(a...)
}

// Printf forwards its operands after converting them (go-spew's ConfigState).
func (s *state) Printf(format string, a ...any) (int, error) {
	return (fmt.Printf(s.prefix+format, convert(a)...))
}

func convert(a []any) []any { return a }

// hello returns a print of nothing it was given: not a wrapper.
func hello() (int, error) {
	return fmt.Println("hello") // want `fmt.Println call in library code`
}

// printThenReturn prints and returns something else: not a wrapper.
func printThenReturn(a ...any) error {
	fmt.Println(a...) // want `fmt.Println call in library code`
	return nil
}

// promptPassword is helm's passphrase prompt.
func promptPassword(name string) ([]byte, error) {
	fmt.Printf("Password for key %q >  ", name)
	pw, err := term.ReadPassword(int(syscall.Stdin))
	fmt.Println()
	return pw, err
}

func promptLine() (string, error) {
	fmt.Print("name? ")
	return bufio.NewReader(os.Stdin).ReadString('\n')
}

func promptScan() (n int) {
	fmt.Print("how many? ")
	fmt.Scanln(&n)
	return n
}

func promptRaw(buf []byte) {
	fmt.Print("> ")
	os.Stdin.Read(buf)
}

// promptEitherWay reads in a branch below its prompt.
func promptEitherWay() (pw []byte) {
	fmt.Print("Password: ")
	if term.IsTerminal(int(syscall.Stdin)) {
		pw, _ = term.ReadPassword(int(syscall.Stdin))
	} else {
		line, _ := bufio.NewReader(os.Stdin).ReadString('\n')
		pw = []byte(line)
	}
	return pw
}

// repl prompts in a loop, reading with a reader made before it.
func repl(eval func(string) string) {
	in := bufio.NewReader(os.Stdin)
	for {
		fmt.Print("> ")
		line, err := in.ReadString('\n')
		if err != nil {
			return
		}
		fmt.Println(eval(line))
	}
}

// runCommand is migrate's Main in miniature: a confirmation deep in one
// case does not make the version print in another branch a prompt.
func runCommand(version bool, cmd string) {
	if version {
		fmt.Println("v1.2.3") // want `fmt.Println call in library code`
		return
	}
	switch cmd {
	case "drop":
		fmt.Print("Are you sure? [y/N] ")
		var answer string
		fmt.Scanln(&answer)
	case "up":
		fmt.Println("migrating up") // want `fmt.Println call in library code`
	}
}

// runInteractive hands its stdin to a child: storing os.Stdin is not
// reading it, so its print is reported.
func runInteractive(cmd *exec.Cmd) error {
	cmd.Stdin = os.Stdin
	fmt.Println("running", cmd.Path) // want `fmt.Println call in library code`
	return cmd.Run()
}

// notTheTerminal reads a file: not a prompt.
func notTheTerminal(f *os.File) {
	fmt.Print("reading") // want `fmt.Print call in library code`
	bufio.NewReader(f).ReadString('\n')
}

// promptInOtherFunc: the read is in another function.
func promptInOtherFunc() {
	fmt.Print("name? ") // want `fmt.Print call in library code`
	_, _ = promptLine()
}

// shadowedTerm: a local named term is not golang.org/x/term.
func shadowedTerm() {
	term := reader{}
	fmt.Print("> ") // want `fmt.Print call in library code`
	term.ReadPassword(0)
}

type reader struct{}

func (reader) ReadPassword(fd int) ([]byte, error) { return nil, nil }

// ExampleCircuitBreaker is a godoc example kept in a non-test file (go-redis).
func ExampleCircuitBreaker() {
	fmt.Printf("Circuit Breaker for %s:\n", "localhost:6379")
	func() { fmt.Println("inside the example") }()
}

func Example_suffix() {
	fmt.Println("also an example")
}

// ExampleCircuitBreakerMonitor takes what it shows (go-redis's, verbatim
// shape): an example outside tests need not be niladic.
func ExampleCircuitBreakerMonitor(stats []string) {
	for _, s := range stats {
		fmt.Printf("Circuit Breaker for %s:\n", s)
	}
}

// ExampleConfig has a result: not an example, a library function.
func ExampleConfig() string {
	fmt.Println("debug") // want `fmt.Println call in library code`
	return ""
}

// Examples is not an example name (a lower-case letter follows).
func Examples() {
	fmt.Println("debug") // want `fmt.Println call in library code`
}

type doc struct{}

// Example with a receiver is a method, not an example.
func (doc) Example() {
	fmt.Println("debug") // want `fmt.Println call in library code`
}
