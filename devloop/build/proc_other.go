//go:build !unix

package build

import (
	"os"
	"syscall"
	"time"
)

// groupAttr has no process groups to offer here: a cancelled build kills
// the go command alone, and its compiler or linker finishes on its own.
func groupAttr() *syscall.SysProcAttr { return nil }

func killGroup(pid int) {
	if p, err := os.FindProcess(pid); err == nil {
		_ = p.Kill()
	}
}

func groupGone(int, time.Duration) bool { return true }
