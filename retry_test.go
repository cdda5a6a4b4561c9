package toil_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/toilhq/toil"
)

func TestRetry(t *testing.T) {
	t.Parallel()
	refused := errors.New("connection refused")
	denied := errors.New("WRONGPASS")
	isDenied := func(err error) bool { return errors.Is(err, denied) }

	t.Run("until it works", func(t *testing.T) {
		t.Parallel()
		calls := 0
		err := toil.Retry(context.Background(), time.Minute, func(context.Context) error {
			if calls++; calls < 3 {
				return refused
			}
			return nil
		}, isDenied)
		if err != nil || calls != 3 {
			t.Fatalf("got %v after %d calls, want nil after 3", err, calls)
		}
	})
	t.Run("a permanent error stops at once", func(t *testing.T) {
		t.Parallel()
		calls := 0
		err := toil.Retry(context.Background(), time.Minute, func(context.Context) error { calls++; return denied }, isDenied)
		if !errors.Is(err, denied) || calls != 1 {
			t.Fatalf("got %v after %d calls, want WRONGPASS after 1", err, calls)
		}
	})
	t.Run("the budget spent names the last real error", func(t *testing.T) {
		t.Parallel()
		err := toil.Retry(context.Background(), 250*time.Millisecond, func(ctx context.Context) error { return refused }, nil)
		if !errors.Is(err, refused) || !strings.Contains(err.Error(), "attempts in") {
			t.Fatalf("got %v, want connection refused with the attempts made", err)
		}
	})
}
