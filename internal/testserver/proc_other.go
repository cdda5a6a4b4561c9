//go:build !linux

package testserver

import (
	"os"
	"syscall"
)

var termSignal os.Signal = os.Interrupt

func childAttr() *syscall.SysProcAttr { return nil }
