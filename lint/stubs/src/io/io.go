//go:build ignore

// Stub of io for toil lint's type checker: real signatures, no bodies.
package io

type Reader interface {
	Read(p []byte) (n int, err error)
}

type Writer interface {
	Write(p []byte) (n int, err error)
}

type Closer interface {
	Close() error
}

type ReadWriter interface {
	Reader
	Writer
}

type ReadCloser interface {
	Reader
	Closer
}

type WriteCloser interface {
	Writer
	Closer
}

type ReadWriteCloser interface {
	Reader
	Writer
	Closer
}

type StringWriter interface {
	WriteString(s string) (n int, err error)
}

type ByteWriter interface {
	WriteByte(c byte) error
}

var EOF error

var ErrUnexpectedEOF error

var Discard Writer

func Copy(dst Writer, src Reader) (written int64, err error)
func ReadAll(r Reader) ([]byte, error)
func WriteString(w Writer, s string) (n int, err error)
func MultiWriter(writers ...Writer) Writer
func MultiReader(readers ...Reader) Reader
func NopCloser(r Reader) ReadCloser
