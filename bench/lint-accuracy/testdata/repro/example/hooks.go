// Package hooks mirrors go-redis maintnotifications/example_hooks.go: an Example function in a
// non-test file, whose whole point is to show output.
package hooks

import "fmt"

// ExampleCircuitBreakerMonitor demonstrates how to monitor circuit breaker status.
func ExampleCircuitBreakerMonitor() {
	fmt.Printf("Circuit Breaker for %s:\n", "localhost:6379")
}
