// Package hooks mirrors go-redis maintnotifications/example_hooks.go: an Example function in a
// non-test file, whose whole point is to show output. Outside tests nothing makes an example
// niladic: go-redis's takes the hook it shows.
package hooks

import "fmt"

// PoolHook is the value the example shows.
type PoolHook struct{ Endpoint string }

// ExampleCircuitBreakerMonitor demonstrates how to monitor circuit breaker status.
func ExampleCircuitBreakerMonitor(poolHook *PoolHook) {
	fmt.Printf("Circuit Breaker for %s:\n", poolHook.Endpoint)
}
