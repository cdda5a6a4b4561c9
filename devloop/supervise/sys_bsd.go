//go:build unix && !linux

package supervise

import (
	"syscall"
	"time"
)

// procAttr puts a worker in a process group of its own. These systems have
// no parent-death signal: a worker of a supervisor that is SIGKILLed
// outlives it (every other way the supervisor ends stops its workers).
func procAttr(bool) *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }

// waitExited cannot wait without reaping here: the caller skips killing
// the worker's group after it exited.
func waitExited(int) bool { return false }

// procStartTime is not known here, so stale workers are never killed: a
// pid alone may be another process's by now.
func procStartTime(int) (uint64, bool) { return 0, false }

// waitGone polls for pid to end.
func waitGone(pid int, _ uint64, timeout time.Duration) {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) && syscall.Kill(pid, 0) == nil {
		time.Sleep(10 * time.Millisecond)
	}
}
