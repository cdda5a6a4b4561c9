package supervise

import (
	"bytes"
	"os"
	"strconv"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// procAttr puts a worker in a process group of its own (so a signal
// reaches what it started too, and a terminal's Ctrl-C reaches toil only)
// and, with pdeath, has the kernel SIGKILL it when its parent thread (the
// spawner's, which lives as long as the supervisor) ends, even when toil is
// SIGKILLed and can stop no one.
func procAttr(pdeath bool) *syscall.SysProcAttr {
	a := &syscall.SysProcAttr{Setpgid: true}
	if pdeath {
		a.Pdeathsig = syscall.SIGKILL
	}
	return a
}

// waitExited waits for the child pid to exit without reaping it, and
// reports whether it did: until reaped, its pid and process group id
// cannot be reused.
func waitExited(pid int) bool {
	var info unix.Siginfo
	for {
		err := unix.Waitid(unix.P_PID, pid, &info, unix.WEXITED|unix.WNOWAIT, nil)
		if err == syscall.EINTR {
			continue
		}
		return err == nil
	}
}

// procStartTime is when pid started, in clock ticks after boot (field 22
// of /proc/PID/stat), which with the pid names one process for good.
func procStartTime(pid int) (uint64, bool) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, false
	}
	// The command name (field 2) is in parentheses and may hold anything:
	// fields are counted from the last ')'.
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return 0, false
	}
	fields := bytes.Fields(data[i+1:])
	const startField = 22 - 3 // fields[0] is field 3, the state
	if len(fields) <= startField {
		return 0, false
	}
	n, err := strconv.ParseUint(string(fields[startField]), 10, 64)
	return n, err == nil
}

// waitGone waits up to timeout for the process pid, started at start, to
// end. It need not be our child: a pidfd becomes readable when it exits.
func waitGone(pid int, start uint64, timeout time.Duration) {
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return // already gone
	}
	defer unix.Close(fd)
	if s, ok := procStartTime(pid); !ok || s != start {
		return // the pidfd is another process's
	}
	deadline := time.Now().Add(timeout)
	for {
		left := time.Until(deadline)
		if left <= 0 {
			return
		}
		n, err := unix.Poll([]unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}, int(left.Milliseconds())+1)
		if err == syscall.EINTR {
			continue
		}
		if err != nil || n > 0 {
			return
		}
	}
}
