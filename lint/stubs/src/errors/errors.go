//go:build ignore

// Stub of errors for toil lint's type checker: real signatures, no bodies.
package errors

func New(text string) error
func Is(err, target error) bool
func As(err error, target any) bool
func Unwrap(err error) error
func Join(errs ...error) error
