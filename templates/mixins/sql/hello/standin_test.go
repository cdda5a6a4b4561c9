// Package hello holds what toil new --with sql adds to a service: the test
// of its DB field. standin_test.go stands in for the template's service so the
// test compiles here; toil new copies only the test, renamed.
package hello

import (
	"testing"

	"github.com/toilhq/toil"
	"github.com/toilhq/toil/sqldb"
)

// Service stands in for the template's service, with the field --with sql
// adds.
type Service struct {
	toil.Base[struct{}]

	DB sqldb.DB
}

// testConfig stands in for the template's: the config its service needs
// to run in a test, which toil new makes include dbConfig.
func testConfig(t testing.TB) string { return dbConfig(t) }
