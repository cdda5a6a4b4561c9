package toil

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Retry calls try until it returns nil, permanent reports its error as one
// retrying cannot fix, or budget is spent, waiting 100 ms after the first
// failure and twice as long after each next one (at most 2 s). It is how
// mixins connect to their servers in pre-setup.
//
// The budget ends a little before ctx's deadline (the setup timeout), so
// that the error says why the server could not be reached, with the last
// real error and the attempts made, instead of only that setup timed out.
// permanent may be nil.
func Retry(ctx context.Context, budget time.Duration, try func(context.Context) error, permanent func(error) bool) error {
	start := time.Now()
	deadline := start.Add(budget)
	if d, ok := ctx.Deadline(); ok {
		margin := min(max(time.Until(d)/10, 50*time.Millisecond), time.Second)
		if d.Add(-margin).Before(deadline) {
			deadline = d.Add(-margin)
		}
	}
	ctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	wait := 100 * time.Millisecond
	var last error // the last error that says more than "out of time"
	for attempt := 1; ; attempt++ {
		err := try(ctx)
		if err == nil {
			return nil
		}
		if permanent != nil && permanent(err) {
			return err
		}
		if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
			last = err
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
			wait = min(wait*2, 2*time.Second)
		case <-ctx.Done():
			t.Stop()
			if last == nil {
				last = errors.New("no answer")
			}
			return fmt.Errorf("%w (%d attempts in %s)", last, attempt, time.Since(start).Round(time.Millisecond))
		}
	}
}
