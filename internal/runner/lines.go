package runner

import (
	"io"
	"sync"

	"github.com/toilhq/toil/internal/lines"
)

// maxLine is where an endless line is cut.
const maxLine = lines.Max

// lineWriter prefixes every line a worker writes and hands whole lines to w,
// one Write each under a mutex shared by all workers, so lines from
// different workers never interleave mid-line.
type lineWriter struct {
	mu     *sync.Mutex
	w      io.Writer
	prefix []byte
	split  *lines.Splitter
}

func (l *lineWriter) Write(p []byte) (int, error) {
	if l.split == nil {
		l.split = &lines.Splitter{Emit: l.emit}
	}
	return l.split.Write(p)
}

// Flush writes a last line that had no newline.
func (l *lineWriter) Flush() {
	if l.split != nil {
		l.split.Flush()
	}
}

func (l *lineWriter) emit(line []byte) {
	out := make([]byte, 0, len(l.prefix)+len(line)+1)
	out = append(append(append(out, l.prefix...), line...), '\n')
	l.mu.Lock()
	defer l.mu.Unlock()
	// A failed write to toil's own output has nowhere to be reported, and
	// must not stop the worker: its lines are dropped.
	_, _ = l.w.Write(out)
}
