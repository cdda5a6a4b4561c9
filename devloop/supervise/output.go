package supervise

import (
	"bytes"
	"io"
	"sync"
)

const (
	// tailLines is how many of a worker's last lines a failure report
	// shows.
	tailLines = 20
	// maxLine is where an endless line is cut, so a worker printing
	// without newlines cannot grow the supervisor's memory without bound.
	maxLine = 64 << 10
)

// output splits a worker's stdout and stderr into lines, hands each to
// the Log callback, and keeps the last few for failure reports.
type output struct {
	log     func(Line)
	service string
	worker  int

	mu   sync.Mutex
	pid  int // set once started; a line may come before
	ring [tailLines]string
	n    int // lines seen
	w    [2]*lineWriter
}

func newOutput(log func(Line), service string, worker int) *output {
	o := &output{log: log, service: service, worker: worker}
	o.w[0] = &lineWriter{o: o}
	o.w[1] = &lineWriter{o: o, stderr: true}
	return o
}

func (o *output) writer(stderr bool) io.Writer {
	if stderr {
		return o.w[1]
	}
	return o.w[0]
}

func (o *output) line(text string, stderr bool) {
	o.mu.Lock()
	o.ring[o.n%tailLines] = text
	o.n++
	pid := o.pid
	o.mu.Unlock()
	if o.log != nil {
		o.log(Line{Service: o.service, Worker: o.worker, PID: pid, Stderr: stderr, Text: text})
	}
}

func (o *output) setPID(pid int) {
	o.mu.Lock()
	o.pid = pid
	o.mu.Unlock()
}

// tail is the last lines, oldest first.
func (o *output) tail() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	k := min(o.n, tailLines)
	out := make([]string, 0, k)
	for i := o.n - k; i < o.n; i++ {
		out = append(out, o.ring[i%tailLines])
	}
	return out
}

// flush hands on a last line that had no newline; called once the worker
// is reaped, when nothing writes any more.
func (o *output) flush() {
	for _, w := range o.w {
		if len(w.buf) > 0 {
			o.line(string(w.buf), w.stderr)
			w.buf = nil
		}
	}
}

// lineWriter is one stream of a worker. os/exec writes to it from a single
// goroutine per stream.
type lineWriter struct {
	o      *output
	stderr bool
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
		l.o.line(string(bytes.TrimSuffix(l.buf[start:start+i], []byte("\r"))), l.stderr)
		start += i + 1
	}
	for len(l.buf)-start >= maxLine {
		l.o.line(string(l.buf[start:start+maxLine]), l.stderr)
		start += maxLine
	}
	l.buf = l.buf[:copy(l.buf, l.buf[start:])]
	return len(p), nil
}
