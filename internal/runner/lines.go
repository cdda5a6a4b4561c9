package runner

import (
	"bytes"
	"io"
	"sync"
)

// maxLine is where an endless line is cut, so one worker printing without
// newlines cannot grow toil's memory without bound.
const maxLine = 64 << 10

// lineWriter prefixes every line a worker writes and hands whole lines to w,
// one Write each under a mutex shared by all workers, so lines from
// different workers never interleave mid-line.
type lineWriter struct {
	mu     *sync.Mutex
	w      io.Writer
	prefix []byte
	buf    []byte
}

func (l *lineWriter) Write(p []byte) (int, error) {
	l.buf = append(l.buf, p...)
	start := 0
	for {
		i := bytes.IndexByte(l.buf[start:], '\n')
		if i < 0 {
			break
		}
		l.emit(l.buf[start : start+i+1])
		start += i + 1
	}
	for len(l.buf)-start >= maxLine {
		l.emit(append(l.buf[start:start+maxLine:start+maxLine], '\n'))
		start += maxLine
	}
	l.buf = l.buf[:copy(l.buf, l.buf[start:])]
	return len(p), nil
}

// Flush writes a last line that had no newline.
func (l *lineWriter) Flush() {
	if len(l.buf) > 0 {
		l.emit(append(l.buf, '\n'))
		l.buf = l.buf[:0]
	}
}

func (l *lineWriter) emit(line []byte) {
	out := make([]byte, 0, len(l.prefix)+len(line))
	out = append(append(out, l.prefix...), line...)
	l.mu.Lock()
	defer l.mu.Unlock()
	// A failed write to toil's own output has nowhere to be reported, and
	// must not stop the worker: its lines are dropped.
	_, _ = l.w.Write(out)
}
