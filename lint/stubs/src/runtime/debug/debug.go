//go:build ignore

// Stub of runtime/debug for toil lint's type checker: real signatures, no bodies.
package debug

func PrintStack()
func Stack() []byte
func FreeOSMemory()
func SetGCPercent(percent int) int
func SetMaxStack(bytes int) int
func SetMaxThreads(threads int) int
func SetMemoryLimit(limit int64) int64
func SetPanicOnFault(enabled bool) bool
func SetTraceback(level string)
