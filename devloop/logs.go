package devloop

import (
	"os"
	"sync"
)

// pid is toil dev's process id, for status.
var pid = os.Getpid()

// keepLines is how many lines of each service's output toil dev keeps for
// `toil dev logs`.
const keepLines = 1000

// logs keeps each service's (and backing system's) last lines, and hands
// new ones to `toil dev logs -f` readers.
type logs struct {
	mu    sync.Mutex
	lines map[string][]string
	subs  map[*logSub]bool
}

// logSub is a reader following a service's lines. A reader that falls
// behind by more than its buffer misses lines rather than slowing the
// workers down.
type logSub struct {
	service string
	ch      chan string
}

func newLogs() *logs {
	return &logs{lines: map[string][]string{}, subs: map[*logSub]bool{}}
}

// add records a line of service's worker id ("web.2"), or of a backing
// system when id is "".
func (l *logs) add(service, id, text string) {
	if id == "" {
		id = service
	}
	line := id + " | " + text
	l.mu.Lock()
	defer l.mu.Unlock()
	buf := append(l.lines[service], line)
	if len(buf) > keepLines {
		// Copy down rather than reslice forever.
		buf = append(buf[:0], buf[len(buf)-keepLines:]...)
	}
	l.lines[service] = buf
	for s := range l.subs {
		if s.service == service {
			select {
			case s.ch <- line:
			default:
			}
		}
	}
}

// tail returns service's last n lines (all kept when n <= 0), and, with
// follow, a subscription to the next ones and its cancel.
func (l *logs) tail(service string, n int, follow bool) ([]string, *logSub, func()) {
	l.mu.Lock()
	defer l.mu.Unlock()
	buf := l.lines[service]
	if n > 0 && len(buf) > n {
		buf = buf[len(buf)-n:]
	}
	out := append([]string(nil), buf...)
	if !follow {
		return out, nil, func() {}
	}
	s := &logSub{service: service, ch: make(chan string, 256)}
	l.subs[s] = true
	return out, s, func() {
		l.mu.Lock()
		delete(l.subs, s)
		l.mu.Unlock()
	}
}
