package hello

import (
	"context"
	"strings"
	"testing"

	"github.com/toilhq/toil/toiltest"
)

func TestWorkerStartsAndStops(t *testing.T) {
	t.Parallel()
	svc := toiltest.Run(t, &Worker{}, toiltest.Config("interval: 1h"))
	svc.WaitReady()
	if err := svc.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
}

func TestWorkerRejectsZeroInterval(t *testing.T) {
	t.Parallel()
	svc := toiltest.Run(t, &Worker{}, toiltest.Config("interval: 0s"))
	err := svc.Err()
	if err == nil || !strings.Contains(err.Error(), "interval") {
		t.Fatalf("Err() = %v, want an error naming interval", err)
	}
}

func TestRoundCounts(t *testing.T) {
	t.Parallel()
	w := &Worker{}
	svc := toiltest.Run(t, w, toiltest.Config("interval: 1h"))
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
