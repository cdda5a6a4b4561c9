// Package lintbench times toil lint's engine in-process, for profiling:
//
//	TOIL_BENCH_DIR=/path/to/module go test ./bench/lint -run '^$' -bench Engine -cpuprofile cpu.out
//
// Without TOIL_BENCH_DIR the benchmark is skipped.
package lintbench

import (
	"os"
	"testing"

	"github.com/toilhq/toil/analyzers"
	"github.com/toilhq/toil/lint"
)

func BenchmarkEngine(b *testing.B) {
	dir := os.Getenv("TOIL_BENCH_DIR")
	if dir == "" {
		b.Skip("set TOIL_BENCH_DIR to a module directory")
	}
	for b.Loop() {
		res, err := lint.Run(b.Context(), lint.Config{Dir: dir, Settings: analyzers.Settings{}})
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(res.Packages), "units")
		b.ReportMetric(float64(len(res.Findings)), "findings")
	}
}
