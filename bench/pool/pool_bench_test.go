// Package pool_bench measures what package pool costs per task over
// x/sync's errgroup, which it builds on. Results: README.md.
package pool_bench

import (
	"context"
	"testing"

	"golang.org/x/sync/errgroup"

	"github.com/toilhq/toil"
	"github.com/toilhq/toil/pool"
)

const items = 1000

func square(ctx context.Context, i int) (int, error) { return i * i, nil }

// BenchmarkFanOut maps 1,000 trivial tasks, 16 at a time: all overhead, no
// work, so the differences are the per-task cost of each way.
func BenchmarkFanOut(b *testing.B) {
	in := make([]int, items)
	for i := range in {
		in[i] = i
	}
	ctx := context.Background()
	b.Run("errgroup", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			out := make([]int, len(in))
			g, gctx := errgroup.WithContext(ctx)
			g.SetLimit(16)
			for i, v := range in {
				g.Go(func() error {
					r, err := square(gctx, v)
					out[i] = r
					return err
				})
			}
			if err := g.Wait(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("pool.Map", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := pool.Map(ctx, 16, in, square); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("pool.MapIn+metrics", func(b *testing.B) {
		p := pool.New(16, pool.WithStats(toil.NewStats(), "bench"))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := pool.MapIn(ctx, p, in, square); err != nil {
				b.Fatal(err)
			}
		}
	})
}
