package pool

import (
	"context"
	"fmt"
)

// Map calls fn on every item, at most limit at a time, and returns the
// results in the order of items. The first error (or panic) cancels the
// context fn gets, starts no more calls, and is returned once the calls
// running have returned; the results are then nil.
func Map[T, R any](ctx context.Context, limit int, items []T, fn func(ctx context.Context, item T) (R, error)) ([]R, error) {
	if limit < 1 {
		return nil, fmt.Errorf("pool.Map: limit %d: want 1 or more", limit)
	}
	return MapIn(ctx, New(limit), items, fn)
}

// Each calls fn on every item, at most limit at a time; errors as [Map].
func Each[T any](ctx context.Context, limit int, items []T, fn func(ctx context.Context, item T) error) error {
	if limit < 1 {
		return fmt.Errorf("pool.Each: limit %d: want 1 or more", limit)
	}
	return EachIn(ctx, New(limit), items, fn)
}

// MapIn is [Map] in the pool p: its calls share p's bound with everything
// else running in p, and count in p's metrics.
func MapIn[T, R any](ctx context.Context, p *Pool, items []T, fn func(ctx context.Context, item T) (R, error)) ([]R, error) {
	out := make([]R, len(items))
	g, gctx := p.Group(ctx)
	for i, item := range items {
		if gctx.Err() != nil {
			break // Wait says why
		}
		g.Go(func(ctx context.Context) error {
			r, err := fn(ctx, item)
			out[i] = r // each call owns its index
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return out, nil
}

// EachIn is [Each] in the pool p.
func EachIn[T any](ctx context.Context, p *Pool, items []T, fn func(ctx context.Context, item T) error) error {
	g, gctx := p.Group(ctx)
	for _, item := range items {
		if gctx.Err() != nil {
			break
		}
		g.Go(func(ctx context.Context) error { return fn(ctx, item) })
	}
	return g.Wait()
}
