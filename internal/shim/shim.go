// Package shim lets the toil binary start a worker so that LISTEN_PID is
// the worker's own pid, as socket activation requires (sd_listen_fds(3)):
// a parent cannot know a child's pid before the fork, so the supervisor
// starts `toil __shim BINARY ARGS...`, and the shim, already the process the
// worker will be, writes its pid into LISTEN_PID and execs BINARY in place.
// The pid, process group, parent-death signal and inherited sockets carry
// over to the worker unchanged.
//
// It runs before cobra and does nothing else, so a worker start costs one
// extra exec of toil plus its package initialisation.
package shim

import (
	"fmt"
	"os"
	"strconv"
	"syscall"
)

// Arg is the hidden first argument that makes toil a shim.
const Arg = "__shim"

// Command is the command line that starts binary with args through the
// shim of the toil executable exe.
func Command(exe, binary string, args ...string) []string {
	return append([]string{exe, Arg, binary}, args...)
}

// Invoked reports whether args (os.Args[1:]) ask toil to be a shim.
func Invoked(args []string) bool { return len(args) > 0 && args[0] == Arg }

// Main sets LISTEN_PID to this process's pid and execs the worker named in
// args (os.Args[1:]: Arg, the binary, its arguments), with the binary as
// its argv[0]. It never returns: when the exec fails it says why on
// stderr and exits 127, as a shell does for a command it cannot run.
func Main(args []string) {
	if len(args) < 2 || args[1] == "" {
		fmt.Fprintf(os.Stderr, "toil %s: want the worker's binary: toil %s BINARY [ARG...]\n", Arg, Arg)
		os.Exit(2)
	}
	bin := args[1]
	env := withEnv(os.Environ(), "LISTEN_PID", strconv.Itoa(os.Getpid()))
	err := syscall.Exec(bin, args[1:], env)
	fmt.Fprintf(os.Stderr, "toil: start worker %s: %v\n", bin, err)
	os.Exit(127)
}

// withEnv sets key=value in env, replacing any earlier value.
func withEnv(env []string, key, value string) []string {
	out := env[:0:0]
	for _, kv := range env {
		if len(kv) > len(key) && kv[len(key)] == '=' && kv[:len(key)] == key {
			continue
		}
		out = append(out, kv)
	}
	return append(out, key+"="+value)
}
