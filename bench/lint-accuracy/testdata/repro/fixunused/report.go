// Package report mirrors go-redis maintnotifications/e2e/proxy_fault_injector_server.go:902:
// k is used only by the two prints; each fix alone is safe, both together leave k unused.
package report

import "fmt"

func send(m map[string]error) {
	for k, err := range m {
		if err != nil {
			fmt.Printf("%s failed: %v\n", k, err)
		} else {
			fmt.Printf("%s ok\n", k)
		}
	}
}
