package toiltest_test

import (
	"context"
	"flag"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/toilhq/toil"
	"github.com/toilhq/toil/toiltest"
)

func TestForceSwitch(t *testing.T) {
	t.Parallel()
	sw := toil.NewSwitches()
	sw.Set("checkout", toil.Switch{Percent: 0})
	sw.Set("checkout:v2", toil.Switch{State: toil.SwitchOn})
	ctx := context.Background()

	t.Run("on", func(t *testing.T) {
		toiltest.ForceSwitch(t, sw, "checkout", true)
		if !sw.Active(ctx, "checkout", toil.Key(1)) || !sw.Active(ctx, "checkout:v2", toil.Key(1)) {
			t.Error("forced on, checkout or its child checkout:v2 is off")
		}
		t.Run("nested off", func(t *testing.T) {
			toiltest.ForceSwitch(t, sw, "checkout", false)
			if sw.Active(ctx, "checkout", toil.Key(1)) || sw.Active(ctx, "checkout:v2", toil.Key(1)) {
				t.Error("a subtest forced checkout off, but it or its child is on")
			}
		})
		if !sw.Active(ctx, "checkout", toil.Key(1)) {
			t.Error("after the subtest, the parent test's override is gone")
		}
	})
	if sw.Active(ctx, "checkout", toil.Key(1)) {
		t.Error("the override outlived its test")
	}
}

// Parallel tests forcing the same switch to opposite values each see their own: one on its
// own set, one through a context on a set they share.
func TestForceSwitchDoesNotLeakBetweenParallelTests(t *testing.T) {
	t.Parallel()
	if f := flag.Lookup("test.parallel"); f != nil {
		if n, _ := strconv.Atoi(f.Value.String()); n < 2 {
			t.Skip("needs -parallel 2 or more to run the two tests side by side")
		}
	}
	shared := toil.NewSwitches()
	shared.Set("feature", toil.Switch{Percent: 50})
	var forced sync.WaitGroup
	forced.Add(2)
	for _, on := range []bool{true, false} {
		t.Run(strconv.FormatBool(on), func(t *testing.T) {
			t.Parallel()
			own := toil.NewSwitches()
			own.Set("feature", toil.Switch{Percent: 50})
			toiltest.ForceSwitch(t, own, "feature", on)
			ctx := toil.WithSwitch(context.Background(), "feature", on)
			// Check only once both tests have forced, so they overlap.
			forced.Done()
			forced.Wait()
			for i := range 1000 {
				if own.Active(context.Background(), "feature", toil.Key(i)) != on || shared.Active(ctx, "feature", toil.Key(i)) != on {
					t.Fatalf("forced %v, key %d sees the other test's value", on, i)
				}
			}
		})
	}
}

// TestForceSwitchConflictChild is run by TestForceSwitchCatchesParallelConflict in a child
// process: two parallel tests force the same switch on one shared set.
func TestForceSwitchConflictChild(t *testing.T) {
	if os.Getenv("TOILTEST_SWITCH_CONFLICT") == "" {
		t.Skip("run as a child process by TestForceSwitchCatchesParallelConflict")
	}
	sw := toil.NewSwitches()
	forced, done := make(chan struct{}), make(chan struct{})
	t.Run("first", func(t *testing.T) {
		t.Parallel()
		toiltest.ForceSwitch(t, sw, "feature", true)
		close(forced)
		<-done
	})
	t.Run("second", func(t *testing.T) {
		t.Parallel()
		defer close(done)
		<-forced
		toiltest.ForceSwitch(t, sw, "feature", false)
	})
}

func TestForceSwitchCatchesParallelConflict(t *testing.T) {
	t.Parallel()
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestForceSwitchConflictChild$", "-test.parallel=2", "-test.count=1")
	cmd.Env = append(os.Environ(), "TOILTEST_SWITCH_CONFLICT=1")
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("two parallel tests forced one switch on a shared set and the child passed:\n%s", out)
	}
	for _, want := range []string{
		"TestForceSwitchConflictChild/first already forces this switch",
		"toil.NewSwitches()",
		`toil.WithSwitch(ctx, "feature", false)`,
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("child output does not say %q:\n%s", want, out)
		}
	}
}
