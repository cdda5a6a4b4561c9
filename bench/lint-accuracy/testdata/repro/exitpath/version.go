// Package server mirrors nats-server's server/server.go: the CLI's -v path lives in the library.
package server

import (
	"fmt"
	"os"
)

// PrintServerAndExit prints the version and exits (nats-server -v).
func PrintServerAndExit() {
	fmt.Printf("nats-server: v%s\n", "2.15.2")
	os.Exit(0)
}
