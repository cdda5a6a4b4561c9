//go:build unix && !linux

package backing

import "syscall"

// procAttr puts a command in a process group of its own, so stopping it
// stops what it started. Only Linux kills it when toil dies.
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
