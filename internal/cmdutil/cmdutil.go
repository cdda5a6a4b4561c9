// Package cmdutil holds what every toil command shares: the I/O streams, the
// factory of lazily built dependencies, and the mapping from errors to exit codes.
package cmdutil

import (
	"errors"
	"fmt"
	"io"
	"os"

	"golang.org/x/term"
)

// Exit codes of the toil binary.
const (
	ExitOK      = 0 // success
	ExitFailure = 1 // a failure, or findings (lint)
	ExitUsage   = 2 // a usage error: bad flag, argument, name or config
)

// IOStreams are the standard streams a command reads and writes, with what is
// known about whether a person is watching them.
type IOStreams struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer

	outTTY bool
	errTTY bool
}

// System returns the process's own streams.
func System() *IOStreams {
	return &IOStreams{
		In:     os.Stdin,
		Out:    os.Stdout,
		ErrOut: os.Stderr,
		outTTY: term.IsTerminal(int(os.Stdout.Fd())),
		errTTY: term.IsTerminal(int(os.Stderr.Fd())),
	}
}

// Test returns streams backed by the given writers, none of them a terminal.
func Test(in io.Reader, out, errOut io.Writer) *IOStreams {
	return &IOStreams{In: in, Out: out, ErrOut: errOut}
}

// IsStdoutTTY reports whether standard output is a terminal.
func (s *IOStreams) IsStdoutTTY() bool { return s.outTTY }

// IsStderrTTY reports whether standard error is a terminal.
func (s *IOStreams) IsStderrTTY() bool { return s.errTTY }

// SetTTY marks the streams as terminals or not; tests use it to check styled output.
func (s *IOStreams) SetTTY(out, err bool) { s.outTTY, s.errTTY = out, err }

// ColorEnabled reports whether output to stdout may be styled: a terminal and
// no NO_COLOR in the environment (https://no-color.org).
func (s *IOStreams) ColorEnabled() bool {
	_, noColor := os.LookupEnv("NO_COLOR")
	return s.outTTY && !noColor
}

// Factory hands commands their dependencies.
type Factory struct {
	IO      *IOStreams
	Version string // toil's version, as `toil version` prints it
}

// ExitError is an error that asks for a specific exit code. Its message is
// printed unless it is empty.
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string {
	if e.Err == nil {
		return ""
	}
	return e.Err.Error()
}

func (e *ExitError) Unwrap() error { return e.Err }

// UsageErrorf returns an error that exits with ExitUsage: the user asked for
// something that cannot be done as asked (bad flag, name, argument, config).
func UsageErrorf(format string, args ...any) error {
	return &ExitError{Code: ExitUsage, Err: fmt.Errorf(format, args...)}
}

// ErrFindings exits with ExitFailure and prints nothing more: the command
// already reported what it found.
var ErrFindings = &ExitError{Code: ExitFailure}

// ExitCode maps an error returned by a command to the process exit code.
func ExitCode(err error) int {
	if err == nil {
		return ExitOK
	}
	var ee *ExitError
	if errors.As(err, &ee) {
		return ee.Code
	}
	return ExitFailure
}
