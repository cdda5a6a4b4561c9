// Package vettool lets the toil binary answer `go vet -vettool`'s protocol.
package vettool

// Invoked reports whether args are a `go vet` handshake or unit call rather
// than a toil command line.
func Invoked(args []string) bool { return false }

// Main answers go vet and exits; it never returns.
func Main(args []string) {}
