// Package hello holds what toil new --with redis adds to a service: the
// test of its Redis field. standin_test.go stands in for the template's service
// so the test compiles here; toil new copies only the test, renamed.
package hello

import (
	"testing"

	"github.com/toilhq/toil"
	"github.com/toilhq/toil/redis"
)

// Service stands in for the template's service, with the field --with
// redis adds.
type Service struct {
	toil.Base[struct{}]

	Redis redis.Client
}

// testConfig stands in for the template's: the config its service needs
// to run in a test, which toil new makes include redisConfig.
func testConfig(t testing.TB) string { return redisConfig(t) }
