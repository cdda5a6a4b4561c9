package hello

import (
	"context"
	"strings"
	"testing"

	"github.com/toilhq/toil/toiltest"
)

// testConfig is the config the worker needs to run in a test: a round an
// hour, so none runs while the test looks, and its fields'.
func testConfig(t testing.TB) string { return "interval: 1h\n" + fieldsConfig(t) }

// fieldsConfig is the config of the fields toil new --with adds, each on
// a real server of the test's own; every test that runs the service adds
// it. It has none yet.
func fieldsConfig(t testing.TB) string { return "" }

func TestWorkerStartsAndStops(t *testing.T) {
	t.Parallel()
	svc := toiltest.Run(t, &Worker{}, toiltest.Config(testConfig(t)))
	svc.WaitReady()
	if err := svc.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
}

func TestWorkerRejectsZeroInterval(t *testing.T) {
	t.Parallel()
	svc := toiltest.Run(t, &Worker{}, toiltest.Config("interval: 0s\n"+fieldsConfig(t)))
	err := svc.Err()
	if err == nil || !strings.Contains(err.Error(), "interval") {
		t.Fatalf("Err() = %v, want an error naming interval", err)
	}
}

func TestRoundCounts(t *testing.T) {
	t.Parallel()
	w := &Worker{}
	svc := toiltest.Run(t, w, toiltest.Config(testConfig(t)))
	svc.WaitReady()
	if err := svc.Stop(); err != nil {
		t.Fatal(err)
	}
	// The loop has ended, so round runs here alone.
	for range 2 {
		if err := w.round(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if w.rounds != 2 {
		t.Errorf("rounds = %d after two rounds, want 2", w.rounds)
	}
}
