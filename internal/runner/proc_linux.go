package runner

import (
	"os"
	"syscall"
)

// procAttr starts a worker in its own process group when asked, and with a
// parent-death signal always: the kernel SIGKILLs it when toil dies, even
// when toil is SIGKILLed and has no chance to stop anyone.
func procAttr(ownGroup bool) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: ownGroup, Pdeathsig: syscall.SIGKILL}
}

// signalGroup sends sig to the process group p leads, which also reaches
// whatever the worker started.
func signalGroup(p *os.Process, sig syscall.Signal) error {
	return syscall.Kill(-p.Pid, sig)
}
