//go:build ignore

// Stub of os for toil lint's type checker: real signatures, no bodies.
// File is the only type the rules look into (os.Stdout, os.Stderr and
// their Write methods).
package os

type File struct {
	file *file
}

type file struct{}

func (f *File) Write(b []byte) (n int, err error)
func (f *File) WriteString(s string) (n int, err error)
func (f *File) WriteAt(b []byte, off int64) (n int, err error)
func (f *File) Read(b []byte) (n int, err error)
func (f *File) Close() error
func (f *File) Name() string
func (f *File) Fd() uintptr
func (f *File) Sync() error

var (
	Stdin  *File
	Stdout *File
	Stderr *File
)

var Args []string

var ErrNotExist error

func Exit(code int)
func Getenv(key string) string
func LookupEnv(key string) (string, bool)
func Setenv(key, value string) error
func Environ() []string
func Getwd() (dir string, err error)
func Getpid() int
func Hostname() (name string, err error)
func Open(name string) (*File, error)
func Create(name string) (*File, error)
func ReadFile(name string) ([]byte, error)
func Remove(name string) error
func RemoveAll(path string) error
func IsNotExist(err error) bool
func IsExist(err error) bool
func TempDir() string
func Executable() (string, error)
