// Package watchbench measures toil dev's file watcher (devloop/watch) on a
// generated 10,000-file tree: see README.md for the command and the
// recorded results.
package watchbench

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/toilhq/toil/devloop/watch"
)

// Tree shape: 10 × 10 × 5 leaf packages of 20 files = 10,000 watched
// files in 611 directories, about 1.5 KiB of Go each (15 MiB), plus an
// ignored node_modules/ of 2,000 files that must cost nothing.
const (
	top, mid, leaf, perDir = 10, 10, 5, 20
	ignoredFiles           = 2000
)

// makeTree writes the tree into a new directory and returns it.
func makeTree(b *testing.B) string {
	b.Helper()
	root := b.TempDir()
	var src bytes.Buffer
	for i := range 40 {
		fmt.Fprintf(&src, "// Line %d of a generated file, long enough to look like code.\nvar v%d = %d\n", i, i, i)
	}
	write := func(path string, data []byte) {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(path, data, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	write(filepath.Join(root, ".gitignore"), []byte("*.log\nnode_modules/\n"))
	write(filepath.Join(root, "go.mod"), []byte("module example.com/big\n"))
	n := 0
	for a := range top {
		for m := range mid {
			for l := range leaf {
				dir := filepath.Join(root, "a"+strconv.Itoa(a), "m"+strconv.Itoa(m), "l"+strconv.Itoa(l))
				for f := range perDir {
					n++
					write(filepath.Join(dir, "f"+strconv.Itoa(f)+".go"), append([]byte("package l"+strconv.Itoa(l)+"\n\n"), src.Bytes()...))
				}
			}
		}
	}
	for i := range ignoredFiles {
		write(filepath.Join(root, "node_modules", "p"+strconv.Itoa(i/100), strconv.Itoa(i)+".js"), []byte("module.exports = 1\n"))
	}
	return root
}

// BenchmarkStart is the time from New to watching: walk, ignore rules, one
// inotify watch per directory, a content hash per file.
func BenchmarkStart(b *testing.B) {
	root := makeTree(b)
	var dirs, files int
	var cpu time.Duration
	for b.Loop() {
		ru := rusage(b)
		w, err := watch.New(root, watch.Options{})
		if err != nil {
			b.Fatal(err)
		}
		cpu += rusage(b) - ru
		dirs, files = w.Watching()
		b.StopTimer()
		w.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(dirs), "dirs")
	b.ReportMetric(float64(files), "files")
	// CPU time (both cores) tells the cost apart from waiting for a core
	// on a busy machine.
	b.ReportMetric(float64(cpu)/float64(b.N)/float64(time.Millisecond), "cpu-ms/op")
}

// BenchmarkIdle watches the tree for 10 s with nothing changing and
// reports this process's CPU over that time (utime+stime from
// /proc/self/stat, and getrusage for finer grain) as % of one core, its
// resident memory (the whole test process) and the Go heap the watcher
// holds (heap in use after a GC, minus the same before New). Target (issue 5): the whole of
// toil dev under 1% of a core and at most 60 MiB resident.
func BenchmarkIdle(b *testing.B) {
	root := makeTree(b)
	const idle = 10 * time.Second
	for b.Loop() {
		runtime.GC()
		heapBefore := heapInuse()
		w, err := watch.New(root, watch.Options{})
		if err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- w.Run(ctx) }()

		runtime.GC() // the walk's garbage is not what an idle watcher costs
		ticks0, ru0 := cpuTicks(b), rusage(b)
		start := time.Now()
		time.Sleep(idle)
		elapsed := time.Since(start)
		ticks1, ru1 := cpuTicks(b), rusage(b)
		runtime.GC()
		rss, heap := vmRSS(b), heapInuse()

		cancel()
		if err := <-done; err != nil {
			b.Fatal(err)
		}
		hz := 100.0 // USER_HZ on Linux
		b.ReportMetric(100*float64(ticks1-ticks0)/hz/elapsed.Seconds(), "cpu-%stat")
		b.ReportMetric(100*(ru1-ru0).Seconds()/elapsed.Seconds(), "cpu-%rusage")
		b.ReportMetric(rss, "RSS-MiB")
		b.ReportMetric(heap, "heap-MiB")
		b.ReportMetric(heap-heapBefore, "watcher-heap-MiB")
		runtime.KeepAlive(w)
	}
}

// BenchmarkLatency is the time from writing a file to its batch arriving,
// with the debounce (60 ms) subtracted: what the watcher adds.
func BenchmarkLatency(b *testing.B) {
	root := makeTree(b)
	w, err := watch.New(root, watch.Options{})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			b.Fatal(err)
		}
	}()

	var lat []time.Duration
	i := 0
	for b.Loop() {
		i++
		path := filepath.Join(root, "a"+strconv.Itoa(i%top), "m"+strconv.Itoa(i%mid), "l"+strconv.Itoa(i%leaf), "f"+strconv.Itoa(i%perDir)+".go")
		t0 := time.Now()
		if err := os.WriteFile(path, []byte("package x // "+strconv.Itoa(i)+"\n"), 0o644); err != nil {
			b.Fatal(err)
		}
		select {
		case batch := <-w.Events():
			if len(batch.Changes) != 1 {
				b.Fatalf("batch %v, want one change", batch.Changes)
			}
			lat = append(lat, time.Since(t0)-watch.DefaultDebounce)
		case <-time.After(10 * time.Second):
			b.Fatal("no batch")
		}
	}
	slices.Sort(lat)
	ms := func(q float64) float64 {
		return float64(lat[int(q*float64(len(lat)-1))]) / float64(time.Millisecond)
	}
	b.ReportMetric(ms(0.5), "p50-ms")
	b.ReportMetric(ms(0.9), "p90-ms")
	b.ReportMetric(ms(1), "max-ms")
}

// cpuTicks returns utime+stime of this process, in clock ticks, from
// /proc/self/stat.
func cpuTicks(b *testing.B) int64 {
	data, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		b.Fatal(err)
	}
	// Fields after the command name, which is in parentheses and may hold
	// spaces: state is field 3, utime 14, stime 15.
	f := strings.Fields(string(data[bytes.LastIndexByte(data, ')')+2:]))
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return utime + stime
}

func rusage(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// vmRSS returns this process's resident memory in MiB.
func vmRSS(b *testing.B) float64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		b.Fatal(err)
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			return kb / 1024
		}
	}
	b.Fatal("no VmRSS in /proc/self/status")
	return 0
}

// heapInuse returns the Go heap in use, in MiB.
func heapInuse() float64 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return float64(ms.HeapInuse) / (1 << 20)
}
