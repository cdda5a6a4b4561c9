//go:build !unix

package toil

// Socket activation and sd_notify are Unix protocols; elsewhere a worker
// listens on PORT or its configured address and notifies nobody.

func closeOnExec(fd int) {}

func monotonicUsec() (int64, bool) { return 0, false }
