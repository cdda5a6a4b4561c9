//go:build !unix

package runner

import (
	"os"
	"syscall"
)

// procAttr has nothing to set where there are no process groups.
func procAttr(bool) *syscall.SysProcAttr { return nil }

// signalGroup signals the worker alone; only a kill is portable.
func signalGroup(p *os.Process, sig syscall.Signal) error {
	if sig == syscall.SIGKILL {
		return p.Kill()
	}
	return p.Signal(sig)
}
