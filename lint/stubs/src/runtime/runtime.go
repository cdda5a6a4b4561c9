//go:build ignore

// Stub of runtime for toil lint's type checker: real signatures, no bodies.
package runtime

const GOOS string = "linux"

const GOARCH string = "amd64"

const Compiler = "gc"

type Error interface {
	error
	RuntimeError()
}

func Breakpoint()
func Gosched()
func GC()
func Goexit()
func NumGoroutine() int
func NumCPU() int
func GOMAXPROCS(n int) int
func GOROOT() string
func Version() string
func KeepAlive(x any)
func SetFinalizer(obj any, finalizer any)
func LockOSThread()
func UnlockOSThread()
func Caller(skip int) (pc uintptr, file string, line int, ok bool)
func Callers(skip int, pc []uintptr) int
func Stack(buf []byte, all bool) int
