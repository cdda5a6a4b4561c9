//go:build linux

package queue_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/toilhq/toil"
	"github.com/toilhq/toil/queue"
	"github.com/toilhq/toil/toiltest"
)

const (
	killTotal = 10000
	killPad   = 1000 // bytes: ~1 KB messages
)

// producer publishes the jobs.
type producer struct {
	toil.Base[struct{}]

	Out queue.Publisher[job]
}

func publishJobs(t *testing.T, p *producer, from, to int) {
	t.Helper()
	pad := strings.Repeat("x", killPad)
	for id := from; id < to; id++ {
		if err := p.Out.Publish(t.Context(), job{ID: id, Pad: pad}); err != nil {
			t.Fatalf("publish job %d: %v", id, err)
		}
	}
}

// handled is one job id a worker printed.
type handled struct {
	worker int
	id     int
}

// TestKillWorker publishes 10,000 jobs to three worker processes sharing a
// consumer group, SIGKILLs one of them mid-stream, and checks that every
// job was handled at least once: the killed worker's unacknowledged jobs
// went to the others.
func TestKillWorker(t *testing.T) {
	t.Parallel()
	for _, b := range backends {
		if b.name == "mem" {
			continue // in-process by design: TestStopConsumerMidStream
		}
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			url := b.url(t)
			p := &producer{}
			toiltest.Run(t, p, toiltest.Name("test.producer"), toiltest.Config(fmt.Sprintf("out: {url: %q, topic: jobs}", url))).WaitReady()

			// Half the jobs are waiting when the workers start; the other
			// half is published after the kill, so the kill is surely in
			// the middle.
			publishJobs(t, p, 0, killTotal/2)

			results := make(chan handled, 1024)
			quit := make(chan struct{}) // closed when the test stops reading results
			var stopReading sync.Once
			var workers []*exec.Cmd
			var readers, publishers sync.WaitGroup
			for w := range 3 {
				cmd := startWorker(t, w, url, results, quit, &readers)
				workers = append(workers, cmd)
			}
			t.Cleanup(func() {
				stopReading.Do(func() { close(quit) })
				for _, c := range workers {
					_ = c.Process.Kill()
				}
				readers.Wait()
				publishers.Wait()
			})

			seen := map[int]int{}
			perWorker := make([]int, 3)
			victim := -1
			killed := false
			timeout := time.After(2 * time.Minute) // a hang, not a speed check
			for len(seen) < killTotal {
				select {
				case h := <-results:
					seen[h.id]++
					perWorker[h.worker]++
				case <-timeout:
					t.Fatalf("after 2m, %d of %d jobs handled (per worker %v); missing e.g. %v", len(seen), killTotal, perWorker, missing(seen, 5))
				}
				if !killed && len(seen) >= 1500 {
					// The busiest worker surely holds messages: which one it
					// is depends on how the backend spread them.
					victim = 0
					for w, n := range perWorker {
						if n > perWorker[victim] {
							victim = w
						}
					}
					if err := workers[victim].Process.Signal(syscall.SIGKILL); err != nil {
						t.Fatalf("kill worker %d: %v", victim, err)
					}
					killed = true
					t.Logf("killed worker %d after it handled %d jobs (%d of %d handled in all)", victim, perWorker[victim], len(seen), killTotal)
					publishers.Go(func() { publishJobsAsync(t, p, killTotal/2, killTotal) })
				}
			}
			if !killed {
				t.Fatalf("all jobs were handled before the worker could be killed (per worker %v)", perWorker)
			}
			dups := 0
			for _, n := range seen {
				dups += n - 1
			}
			t.Logf("%d jobs handled, %d twice or more (at-least-once redeliveries); per worker %v", len(seen), dups, perWorker)
			stopReading.Do(func() { close(quit) })

			// The survivors drain and exit cleanly on SIGTERM.
			for w, c := range workers {
				if w == victim {
					continue
				}
				if err := c.Process.Signal(syscall.SIGTERM); err != nil {
					t.Errorf("SIGTERM worker %d: %v", w, err)
				}
			}
			readers.Wait()
			for w, c := range workers {
				if w != victim && c.ProcessState.ExitCode() != 0 {
					t.Errorf("worker %d exited with %v after SIGTERM; want 0", w, c.ProcessState)
				}
			}
		})
	}
}

// publishJobsAsync is publishJobs from a goroutine: it reports with Errorf,
// since Fatal must be called from the test's goroutine.
func publishJobsAsync(t *testing.T, p *producer, from, to int) {
	pad := strings.Repeat("x", killPad)
	for id := from; id < to; id++ {
		if err := p.Out.Publish(context.Background(), job{ID: id, Pad: pad}); err != nil {
			t.Errorf("publish job %d: %v", id, err)
			return
		}
	}
}

// startWorker runs this test binary as worker w, sending the ids it prints
// to results. The reader goroutine reaps the process.
func startWorker(t *testing.T, w int, url string, results chan<- handled, quit <-chan struct{}, readers *sync.WaitGroup) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0],
		"--in.url="+url, "--in.topic=jobs", "--in.redeliver_after=2s", "--in.concurrency=2")
	cmd.Env = append(os.Environ(), workerEnv+"=1", "TOIL_WORKER="+strconv.Itoa(w+1),
		"TOIL_LOG_FORMAT=text", "LOG_LEVEL=warn", "TOIL_ADMIN_ADDR=", "TOIL_CONFIG=")
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // never outlives the test
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr := &lockedWriter{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start worker %d: %v", w, err)
	}
	readers.Go(func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			id, err := strconv.Atoi(sc.Text())
			if err != nil {
				continue // a line cut short by SIGKILL
			}
			select {
			case results <- handled{worker: w, id: id}:
			case <-quit: // the test has what it needs; keep draining the pipe
			}
		}
		err := cmd.Wait()
		var exit *exec.ExitError
		if err != nil && !errors.As(err, &exit) {
			t.Errorf("worker %d: %v", w, err)
		}
		if s := stderr.String(); s != "" {
			t.Logf("worker %d stderr:\n%s", w, s)
		}
	})
	return cmd
}

// lockedWriter collects a worker's stderr, which exec writes from its own
// goroutine.
type lockedWriter struct {
	mu sync.Mutex
	w  strings.Builder
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func (l *lockedWriter) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.String()
}

func missing(seen map[int]int, n int) []int {
	var out []int
	for id := 0; id < killTotal && len(out) < n; id++ {
		if seen[id] == 0 {
			out = append(out, id)
		}
	}
	return out
}
