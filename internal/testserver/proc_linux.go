package testserver

import (
	"os"
	"syscall"
)

var termSignal os.Signal = syscall.SIGTERM

// childAttr makes a server die with the test binary, even when the test
// binary is killed and cannot run its cleanups.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
