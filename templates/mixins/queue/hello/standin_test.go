// Package hello holds what toil new --with queue adds to a service: the
// test of its Out publisher and, for a template with no message type of
// its own, Event. standin_test.go stands in for the template's service so the
// test compiles here; toil new copies the rest, renamed.
package hello

import (
	"testing"

	"github.com/toilhq/toil"
	"github.com/toilhq/toil/queue"
)

// Service stands in for the template's service, with the field --with
// queue adds.
type Service struct {
	toil.Base[struct{}]

	Out queue.Publisher[Event]
}

// testConfig stands in for the template's: the config its service needs
// to run in a test, which toil new makes include outConfig.
func testConfig(t testing.TB) string { return outConfig(t) }
