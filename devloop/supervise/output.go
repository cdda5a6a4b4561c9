package supervise

import (
	"bytes"
	"io"
	"sync"

	"github.com/toilhq/toil/internal/lines"
)

// tailLines is how many of a worker's last lines a failure report shows.
const tailLines = 20

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
	w    [2]*lines.Splitter
}

func newOutput(log func(Line), service string, worker int) *output {
	o := &output{log: log, service: service, worker: worker}
	for i, stderr := range []bool{false, true} {
		o.w[i] = &lines.Splitter{Emit: func(line []byte) {
			o.line(string(bytes.TrimSuffix(line, []byte("\r"))), stderr)
		}}
	}
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
		w.Flush()
	}
}
