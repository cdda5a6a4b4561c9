//go:build !unix

package supervise

import (
	"errors"
	"os"
	"syscall"
	"time"
)

// platformErr is why the supervisor cannot run here: it needs process
// groups, signals and socket inheritance.
var platformErr = errors.New("supervise: toil dev and toil up run workers on Linux and macOS only")

func signalGroup(int, syscall.Signal) error   { return platformErr }
func signalProcess(int, syscall.Signal) error { return platformErr }
func lockFile(*os.File) error                 { return platformErr }
func procAttr(bool) *syscall.SysProcAttr      { return nil }
func waitExited(int) bool                     { return false }
func procStartTime(int) (uint64, bool)        { return 0, false }
func waitGone(int, uint64, time.Duration)     {}
func dupCloexec(int) (int, error)             { return -1, platformErr }
