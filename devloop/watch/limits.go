package watch

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// LimitError is an inotify limit reached: too many watches (one per
// directory, shared by all of the user's programs: editors, language
// servers, other watchers) or too many inotify instances. Its message says
// which sysctl to raise and how to keep it raised.
type LimitError struct {
	// Path is the directory being watched when the limit was hit.
	Path string
	// Sysctl is the limit reached: fs.inotify.max_user_watches or
	// fs.inotify.max_user_instances.
	Sysctl string
	// Current is the limit's value as read from /proc/sys, or "" when it
	// could not be read.
	Current string
	// Watched is how many directories toil was already watching.
	Watched int
	// Err is the system call's error.
	Err error
}

// Suggested values: 524288 watches is what most IDE and watcher docs
// recommend; each costs about 1 KiB of kernel memory only when used.
const (
	suggestedWatches   = 524288
	suggestedInstances = 1024
)

// Error explains the limit and the commands that raise it.
func (e *LimitError) Error() string {
	var b strings.Builder
	current := ""
	if e.Current != "" {
		current = " (now " + e.Current + ")"
	}
	// Suggest the usual value, or double the current one if it is
	// already that high.
	suggest := func(usual int) int {
		if n, err := strconv.Atoi(e.Current); err == nil && n >= usual {
			return 2 * n
		}
		return usual
	}
	switch e.Sysctl {
	case "fs.inotify.max_user_watches":
		n := suggest(suggestedWatches)
		fmt.Fprintf(&b, "watch %s: the inotify watch limit is reached: toil watches every directory that git does not ignore (%d so far), and %s%s counts the watches of all of this user's programs.\n",
			e.Path, e.Watched, e.Sysctl, current)
		fmt.Fprintf(&b, "Raise it:\n    sudo sysctl %s=%d\n", e.Sysctl, n)
		fmt.Fprintf(&b, "and keep it after a reboot:\n    echo %s=%d | sudo tee /etc/sysctl.d/90-inotify.conf\n", e.Sysctl, n)
		b.WriteString("Or ignore the directories toil need not watch (generated files, data, node_modules) in .gitignore.")
	default:
		n := suggest(suggestedInstances)
		fmt.Fprintf(&b, "watch %s: too many inotify instances: %s%s counts the inotify instances of all of this user's programs (this error also comes when the process is out of file descriptors: ulimit -n).\n",
			e.Path, e.Sysctl, current)
		fmt.Fprintf(&b, "Raise it:\n    sudo sysctl %s=%d\n", e.Sysctl, n)
		fmt.Fprintf(&b, "and keep it after a reboot:\n    echo %s=%d | sudo tee -a /etc/sysctl.d/90-inotify.conf", e.Sysctl, n)
	}
	return b.String()
}

// Unwrap returns the system call's error.
func (e *LimitError) Unwrap() error { return e.Err }

// limitError maps the errors of an exhausted inotify limit to a
// *LimitError: ENOSPC from inotify_add_watch (max_user_watches), EMFILE from
// inotify_init1 (max_user_instances). Any other error comes back wrapped
// with the path.
func limitError(path string, watched int, err error) error {
	var sysctl string
	switch {
	case errors.Is(err, syscall.ENOSPC):
		sysctl = "fs.inotify.max_user_watches"
	case errors.Is(err, syscall.EMFILE):
		sysctl = "fs.inotify.max_user_instances"
	default:
		return fmt.Errorf("watch %s: %w", path, err)
	}
	e := &LimitError{Path: path, Sysctl: sysctl, Watched: watched, Err: err}
	if data, err := os.ReadFile("/proc/sys/" + strings.ReplaceAll(sysctl, ".", "/")); err == nil {
		e.Current = strings.TrimSpace(string(data))
	}
	return e
}
