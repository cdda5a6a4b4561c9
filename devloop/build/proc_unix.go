//go:build unix

package build

import (
	"errors"
	"syscall"
	"time"
)

// groupAttr starts the go command as the leader of a process group of its
// own, which the compiler, the linker and any -toolexec wrapper it starts
// join: killing the group stops the whole build.
func groupAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }

// killGroup SIGKILLs the group pid leads. Call it before the leader is
// reaped, so the id cannot have been reused.
func killGroup(pid int) { _ = syscall.Kill(-pid, syscall.SIGKILL) }

// groupGone waits, up to limit, until no process of the group pid led is
// left, and reports whether none is. A member killed with the group is
// reaped by init within moments; the limit only guards against a system
// whose init never reaps.
func groupGone(pid int, limit time.Duration) bool {
	deadline := time.Now().Add(limit)
	for delay := 100 * time.Microsecond; ; delay = min(2*delay, 10*time.Millisecond) {
		if err := syscall.Kill(-pid, 0); errors.Is(err, syscall.ESRCH) {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(delay)
	}
}
