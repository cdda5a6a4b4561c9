// Package lines splits the byte stream a worker writes into whole lines,
// so that toil can prefix, colour or keep them without ever showing half a
// line, and cuts an endless line so one worker printing without newlines
// cannot grow toil's memory without bound.
package lines

import "bytes"

// Max is where an endless line is cut.
const Max = 64 << 10

// Splitter hands every whole line written to it to Emit, without its
// newline; a line longer than Max is handed on in Max-byte pieces. The
// slice Emit gets is valid only during the call. A Splitter is written to
// by one goroutine at a time, as os/exec does for each stream.
type Splitter struct {
	Emit func(line []byte)
	buf  []byte
}

func (s *Splitter) Write(p []byte) (int, error) {
	s.buf = append(s.buf, p...)
	start := 0
	for {
		i := bytes.IndexByte(s.buf[start:], '\n')
		if i < 0 {
			break
		}
		s.Emit(s.buf[start : start+i])
		start += i + 1
	}
	for len(s.buf)-start >= Max {
		s.Emit(s.buf[start : start+Max])
		start += Max
	}
	s.buf = s.buf[:copy(s.buf, s.buf[start:])]
	return len(p), nil
}

// Flush hands on a last line that had no newline.
func (s *Splitter) Flush() {
	if len(s.buf) > 0 {
		s.Emit(s.buf)
		s.buf = s.buf[:0]
	}
}
