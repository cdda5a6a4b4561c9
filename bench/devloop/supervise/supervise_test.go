//go:build linux

// Package supervise_bench measures the supervisor with real workers: how
// long a worker restart takes through each kind of shim, and whether a
// rollout under load fails requests.
package supervise_bench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/toilhq/toil/devloop/supervise"
	"github.com/toilhq/toil/internal/shim"
	"github.com/toilhq/toil/layout"
)

var bins struct {
	once                                 sync.Once
	err                                  error
	dir                                  string
	worker, workerV2, shimTiny, shimToil string
}

// build builds the fixture worker (a toil service) and both shims once.
func build(b *testing.B) {
	b.Helper()
	bins.once.Do(func() {
		dir, err := os.MkdirTemp("", "supervise-bench-")
		if err != nil {
			bins.err = err
			return
		}
		bins.dir = dir
		root := "../../.."
		cmd := exec.Command("go", "build", "-o", dir+"/", root+"/devloop/supervise/testdata/worker", "./shimtiny", "./shimtoil")
		if out, err := cmd.CombinedOutput(); err != nil {
			bins.err = fmt.Errorf("go build: %v\n%s", err, out)
			return
		}
		bins.worker = filepath.Join(dir, "worker")
		bins.workerV2 = filepath.Join(dir, "worker-v2")
		bins.shimTiny = filepath.Join(dir, "shimtiny")
		bins.shimToil = filepath.Join(dir, "shimtoil")
		data, err := os.ReadFile(bins.worker)
		if err == nil {
			err = os.WriteFile(bins.workerV2, data, 0o755)
		}
		bins.err = err
	})
	if bins.err != nil {
		b.Fatal(bins.err)
	}
}

func TestMain(m *testing.M) {
	code := m.Run()
	if bins.dir != "" {
		os.RemoveAll(bins.dir)
	}
	os.Exit(code)
}

// run starts a supervisor of one service; it is stopped when b ends.
func run(b *testing.B, svc *layout.Service, shimCmd []string, onEvent func(supervise.Event)) *supervise.Supervisor {
	b.Helper()
	l := &layout.Layout{Name: "bench", Dir: b.TempDir(), Services: []*layout.Service{svc}}
	l.Default()
	sv, err := supervise.New(supervise.Options{Layout: l, Shim: shimCmd, OnEvent: onEvent,
		Environ: append(os.Environ(), "TOIL_LOG_FORMAT=text")})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		if err := sv.Stop(context.Background()); err != nil {
			b.Error(err)
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := sv.Start(ctx, map[string]string{svc.Name: bins.worker}); err != nil {
		b.Fatal(err)
	}
	if err := sv.WaitReady(ctx); err != nil {
		b.Fatal(err)
	}
	return sv
}

// BenchmarkRestart is one worker replaced: its successor started, READY=1
// received, the predecessor sent SIGTERM. With a socket to inherit the
// successor starts through a shim; "no-socket" is a service that listens
// nowhere, started directly: the floor.
func BenchmarkRestart(b *testing.B) {
	build(b)
	for _, tc := range []struct {
		name   string
		shim   []string
		listen bool
	}{
		{"no-socket", nil, false},
		{"shim=sh", []string{"/bin/sh", "-c", `LISTEN_PID=$$; export LISTEN_PID; exec "$0" "$@"`}, true},
		{"shim=tiny", []string{bins.shimTiny, shim.Arg}, true},
		{"shim=toil", []string{bins.shimToil, shim.Arg}, true},
	} {
		b.Run(tc.name, func(b *testing.B) {
			svc := &layout.Service{Name: "web", Run: "bench.web", Procs: 1}
			if tc.listen {
				svc.Listen = layout.Listen{Auto: true}
			} else {
				// Its own port, on a new socket per worker.
				svc.Args = []string{"--http.addr=127.0.0.1:0"}
			}
			shimCmd := tc.shim
			if shimCmd == nil {
				shimCmd = []string{"/nonexistent"} // never used: no socket
			}
			sv := run(b, svc, shimCmd, nil)
			b.ResetTimer()
			for b.Loop() {
				if err := sv.Restart(context.Background(), "web"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkRollUnderLoad rolls 4 workers between two builds, one roll per
// op, while 8 clients send requests over keep-alive connections to the
// held socket. failed/op must be 0.
func BenchmarkRollUnderLoad(b *testing.B) {
	build(b)
	svc := &layout.Service{Name: "web", Run: "bench.web", Procs: 4, Listen: layout.Listen{Auto: true}}
	var rolls []time.Duration
	sv := run(b, svc, []string{bins.shimToil, shim.Arg}, func(e supervise.Event) {
		if e.Kind == supervise.EventRollDone {
			rolls = append(rolls, e.Delay)
		}
	})
	url := "http://" + sv.Status()[0].Addr + "/"

	var ok, failed atomic.Int64
	var firstErr atomic.Value
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 8 {
		c := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{Proxy: nil}}
		wg.Go(func() {
			defer c.CloseIdleConnections()
			for {
				select {
				case <-stop:
					return
				default:
				}
				resp, err := c.Get(url)
				if err == nil {
					_, err = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if err == nil && resp.StatusCode != http.StatusOK {
						err = fmt.Errorf("%s", resp.Status)
					}
				}
				if err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
				} else {
					ok.Add(1)
				}
			}
		})
	}
	start := time.Now()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		bin := bins.workerV2
		if i%2 == 1 {
			bin = bins.worker
		}
		i++
		if err := sv.Roll(context.Background(), "web", bin); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	close(stop)
	wg.Wait()
	elapsed := time.Since(start)
	b.ReportMetric(float64(failed.Load())/float64(i), "failed/op")
	b.ReportMetric(float64(ok.Load())/elapsed.Seconds(), "req/s")
	if f := failed.Load(); f > 0 {
		b.Errorf("%d of %d requests failed; first: %v", f, f+ok.Load(), firstErr.Load())
	}
	b.Logf("%d rolls, %d requests ok, %d failed, roll times %v", i, ok.Load(), failed.Load(), rolls)
}
