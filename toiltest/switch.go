package toiltest

import (
	"strings"
	"sync"
	"testing"

	"github.com/toilhq/toil"
)

// switchClaim names one forced switch on one set.
type switchClaim struct {
	sw   *toil.Switches
	name string
}

// switchOwners records, for each forced switch, the names of the tests forcing it, innermost
// last, so that a parallel test forcing the same switch on the same set is caught instead of
// silently changing what the other test sees.
var switchOwners = struct {
	sync.Mutex
	m map[switchClaim][]string
}{m: map[switchClaim][]string{}}

// ForceSwitch makes sw answer on for the switch name, whatever its definition, its parent or a
// reload says, until t ends; then what was there before comes back. Forcing a parent off
// turns its children off too.
//
// The override lives on sw, so every goroutine using sw sees it: give each parallel test its
// own set (toil.NewSwitches, or the one its service was started with), or scope the override
// to a context with toil.WithSwitch. A test that forces a switch another running test (not
// its parent) already forces on the same sw fails at once, naming both.
func ForceSwitch(t testing.TB, sw *toil.Switches, name string, on bool) {
	t.Helper()
	if sw == nil {
		t.Fatalf("toiltest.ForceSwitch(%q): the *toil.Switches is nil; pass the set the code under test reads", name)
	}
	me := t.Name()
	key := switchClaim{sw, name}

	switchOwners.Lock()
	owners := switchOwners.m[key]
	if n := len(owners); n > 0 {
		if top := owners[n-1]; top != me && !strings.HasPrefix(me, top+"/") {
			switchOwners.Unlock()
			t.Fatalf("toiltest.ForceSwitch(%q): %s already forces this switch on the same *toil.Switches and is still running; "+
				"parallel tests would see each other's value: give each test its own toil.NewSwitches(), or use ctx = toil.WithSwitch(ctx, %q, %v)",
				name, top, name, on)
		}
	}
	switchOwners.m[key] = append(owners, me)
	switchOwners.Unlock()

	restore := sw.Force(name, on)
	t.Cleanup(func() {
		restore()
		switchOwners.Lock()
		defer switchOwners.Unlock()
		owners := switchOwners.m[key]
		// Cleanups run innermost first, so this test's claim is the last one.
		if n := len(owners); n > 1 {
			switchOwners.m[key] = owners[:n-1]
		} else {
			delete(switchOwners.m, key)
		}
	})
}
