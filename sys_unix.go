//go:build unix

package toil

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// closeOnExec keeps an inherited fd from leaking into our own children.
func closeOnExec(fd int) { syscall.CloseOnExec(fd) }

// monotonicUsec is CLOCK_MONOTONIC in microseconds, as sd_notify's
// MONOTONIC_USEC wants.
func monotonicUsec() (int64, bool) {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		return 0, false
	}
	return ts.Nano() / 1000, true
}
