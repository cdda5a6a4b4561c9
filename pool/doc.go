// Package pool bounds concurrency for fan-out work inside a service: fetch
// a hundred URLs sixteen at a time, score a batch on every core, and stop
// the lot at the first failure. It is the Go form of the gevent pools the
// original framework's services used.
//
// For one-off fan-out, [Map] and [Each] take a limit:
//
//	pages, err := pool.Map(ctx, 16, urls, fetch) // results in the order of urls
//
// For a bound shared by a service's requests, with metrics and a limit in
// the config, declare a [Pool] as a mixin field and use [MapIn], [EachIn]
// or a [Group]:
//
//	type Warmer struct {
//		toil.Base[Config]
//
//		Fetch pool.Pool // config: fetch: {limit: 16}
//	}
//
//	pages, err := pool.MapIn(ctx, &w.Fetch, urls, fetch)
//
// Every form cancels the context it hands to the tasks at the first error
// (or panic, returned as a [*PanicError]) and starts no new task after it;
// the error returned is that first one. A task should return soon after
// its context is cancelled: Map and Wait wait for every started task.
//
// Cancellation and first-error propagation follow x/sync's errgroup, and
// the bound is errgroup's too (a buffered channel), made to give up
// waiting for a slot when the context is done.
package pool
