package toil_test

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/toilhq/toil"
)

// Results and the command that made them: bench/switches/README.md.

const benchSwitches = `
everyone: on
rollout: {percent: 25}
listed: {allow: [user:1, user:2, user:3, "alice", "bob"], percent: 10}
scorer: {percent: 50}
scorer:v2: {percent: 50}
scorer:v2:fast: {percent: 50}
`

func benchSwitchSet(b *testing.B) *toil.Switches {
	b.Helper()
	path := filepath.Join(b.TempDir(), "switches.yaml")
	if err := os.WriteFile(path, []byte(benchSwitches), 0o644); err != nil {
		b.Fatal(err)
	}
	sw, err := toil.LoadSwitches(path)
	if err != nil {
		b.Fatal(err)
	}
	return sw
}

var benchActive bool

func BenchmarkSwitchActive(b *testing.B) {
	sw := benchSwitchSet(b)
	ctx := context.Background()
	type UserID int64
	ids := make([]string, 1024)
	for i := range ids {
		ids[i] = "user-" + strconv.Itoa(100000+i)
	}
	for _, bc := range []struct {
		name string
		f    func(i int) bool
	}{
		{"on", func(i int) bool { return sw.Active(ctx, "everyone") }},
		{"unknown", func(i int) bool { return sw.Active(ctx, "nope", toil.Key(i)) }},
		{"percentage/int", func(i int) bool { return sw.Active(ctx, "rollout", toil.Key(100000+i)) }},
		{"percentage/named-int", func(i int) bool { return sw.Active(ctx, "rollout", toil.Key(UserID(100000+i))) }},
		{"percentage/string", func(i int) bool { return sw.Active(ctx, "rollout", toil.Key(ids[i%len(ids)])) }},
		{"allow-list/hit", func(i int) bool { return sw.Active(ctx, "listed", toil.KeyOf("user", 2)) }},
		{"allow-list/miss-then-percentage", func(i int) bool { return sw.Active(ctx, "listed", toil.KeyOf("user", 100000+i)) }},
		{"parent:child", func(i int) bool { return sw.Active(ctx, "scorer:v2", toil.Key(100000+i)) }},
		{"parent:child:grandchild", func(i int) bool { return sw.Active(ctx, "scorer:v2:fast", toil.Key(100000+i)) }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				benchActive = bc.f(i)
			}
		})
	}
}

// BenchmarkSwitchActiveParallel shows that readers do not contend: Active takes no lock.
func BenchmarkSwitchActiveParallel(b *testing.B) {
	sw := benchSwitchSet(b)
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		var on bool
		for i := 0; pb.Next(); i++ {
			on = sw.Active(ctx, "scorer:v2", toil.Key(i)) != on
		}
		benchActive = on
	})
}

func BenchmarkSwitchReload(b *testing.B) {
	sw := benchSwitchSet(b)
	b.ReportAllocs()
	for b.Loop() {
		if err := sw.Reload(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSwitchActiveWithContextOverride runs last on purpose: the first WithSwitch in a
// process turns on the context lookup in every Active call from then on (a process that
// never uses WithSwitch never pays for ctx.Value).
func BenchmarkSwitchActiveWithContextOverride(b *testing.B) {
	sw := benchSwitchSet(b)
	ctx := context.Background()
	type k struct{ n int }
	// A request context a few layers deep, as an HTTP server and middleware make it.
	deep := ctx
	for i := range 5 {
		deep = context.WithValue(deep, k{i}, i)
	}
	forced := toil.WithSwitch(deep, "rollout", true)
	for _, bc := range []struct {
		name string
		ctx  context.Context
		sw   string
	}{
		{"overridden", forced, "rollout"},
		{"other-switch/deep-ctx", forced, "scorer:v2"},
		{"no-override/deep-ctx", deep, "scorer:v2"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				benchActive = sw.Active(bc.ctx, bc.sw, toil.Key(100000+i))
			}
		})
	}
}
