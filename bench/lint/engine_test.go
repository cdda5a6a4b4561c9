// Package lintbench times toil lint's engine in-process, for profiling:
//
//	TOIL_BENCH_DIR=/path/to/module go test ./bench/lint -run '^$' -bench Engine -cpuprofile cpu.out
//
// BenchmarkEngine runs without the findings cache (parse every file,
// type-check what the prefilter keeps); BenchmarkEngineCached with a warm
// one. Without TOIL_BENCH_DIR both are skipped.
package lintbench

import (
	"os"
	"testing"

	"github.com/toilhq/toil/analyzers"
	"github.com/toilhq/toil/lint"
)

func BenchmarkEngine(b *testing.B) {
	bench(b, lint.CacheOff)
}

func BenchmarkEngineCached(b *testing.B) {
	cache := b.TempDir()
	run(b, cache) // fill it
	bench(b, cache)
}

func bench(b *testing.B, cache string) {
	for b.Loop() {
		res := run(b, cache)
		b.ReportMetric(float64(res.Packages), "units")
		b.ReportMetric(float64(len(res.Findings)), "findings")
	}
}

func run(b *testing.B, cache string) *lint.Result {
	b.Helper()
	dir := os.Getenv("TOIL_BENCH_DIR")
	if dir == "" {
		b.Skip("set TOIL_BENCH_DIR to a module directory")
	}
	res, err := lint.Run(b.Context(), lint.Config{Dir: dir, Settings: analyzers.Settings{}, Cache: cache})
	if err != nil {
		b.Fatal(err)
	}
	return res
}
