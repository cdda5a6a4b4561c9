// Package queuetest helps test services that use queue fields.
//
//	url := queuetest.MemURL(t) // mem://TestScorer-1, dropped when the test ends
//	svc := toiltest.Run(t, &Scorer{}, toiltest.Config("in: {url: "+url+", topic: ads}"))
package queuetest

import (
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/toilhq/toil/queue"
)

var seq atomic.Int64

// MemURL returns the URL of an in-process bus of the test's own, so tests
// running in parallel do not see each other's messages. The bus and the
// messages it holds are dropped when the test ends.
func MemURL(t testing.TB) string {
	t.Helper()
	name := fmt.Sprintf("%s-%d", strings.ReplaceAll(t.Name(), "/", "-"), seq.Add(1))
	t.Cleanup(func() { queue.CloseMem(name) })
	return "mem://" + name
}
