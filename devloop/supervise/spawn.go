package supervise

import (
	"os/exec"
	"runtime"
	"sync"
)

// spawner starts every worker from one goroutine locked to its OS thread
// for the supervisor's life. On Linux a worker's parent-death signal
// follows the thread that forked it, not the process (prctl(2),
// golang/go#27505): forked from an ordinary goroutine, a worker would be
// killed whenever the Go runtime retires that thread.
type spawner struct {
	mu     sync.RWMutex
	closed bool
	reqs   chan spawnReq
}

type spawnReq struct {
	cmd *exec.Cmd
	err chan error
}

func newSpawner(wg *sync.WaitGroup) *spawner {
	sp := &spawner{reqs: make(chan spawnReq)}
	wg.Go(func() {
		runtime.LockOSThread()
		// Never unlocked: when this goroutine ends, after Stop reaped every
		// worker, its thread exits with it, and a worker that somehow
		// outlived Stop gets its parent-death signal.
		for r := range sp.reqs {
			r.err <- r.cmd.Start()
		}
	})
	return sp
}

// start runs cmd.Start on the spawner's thread.
func (sp *spawner) start(cmd *exec.Cmd) error {
	sp.mu.RLock()
	if sp.closed {
		sp.mu.RUnlock()
		return ErrStopped
	}
	r := spawnReq{cmd: cmd, err: make(chan error, 1)}
	sp.reqs <- r
	sp.mu.RUnlock()
	return <-r.err
}

// close ends the spawner's goroutine once the starts in flight are done.
func (sp *spawner) close() {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	if !sp.closed {
		sp.closed = true
		close(sp.reqs)
	}
}
