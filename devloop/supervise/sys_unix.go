//go:build unix

package supervise

import (
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// platformErr is why the supervisor cannot run here, or nil.
var platformErr error

// signalGroup sends sig to the process group pid leads: the worker and
// whatever it started.
func signalGroup(pid int, sig syscall.Signal) error { return syscall.Kill(-pid, sig) }

// signalProcess sends sig to pid alone.
func signalProcess(pid int, sig syscall.Signal) error { return syscall.Kill(pid, sig) }

// lockFile takes f's exclusive lock without waiting; the kernel drops it
// when the process ends, however it ends.
func lockFile(f *os.File) error {
	return syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
}

// dupCloexec duplicates fd, close-on-exec from the start so no worker
// being forked meanwhile inherits the copy.
func dupCloexec(fd int) (int, error) { return unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 0) }
