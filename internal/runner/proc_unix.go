//go:build unix && !linux

package runner

import (
	"os"
	"syscall"
)

// procAttr starts a worker in its own process group when asked. These
// systems have no parent-death signal: a worker of a toil that is SIGKILLed
// (rather than stopped) outlives it. Every other way toil ends stops them.
func procAttr(ownGroup bool) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: ownGroup}
}

// signalGroup sends sig to the process group p leads, which also reaches
// whatever the worker started.
func signalGroup(p *os.Process, sig syscall.Signal) error {
	return syscall.Kill(-p.Pid, sig)
}
