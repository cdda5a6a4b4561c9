package backing

import "syscall"

// procAttr puts a command in a process group of its own, so stopping it
// stops what it started, and has the kernel kill it if toil dies without
// stopping it (SIGKILL included).
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
