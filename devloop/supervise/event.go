package supervise

import (
	"fmt"
	"strings"
	"sync"
	"time"
)

// Kind is what an [Event] is about.
type Kind string

// The kinds of events.
const (
	// EventStarted: a worker process started (PID, Binary; Restarts is its
	// slot's restart count so far).
	EventStarted Kind = "started"
	// EventReady: a worker is ready; Reason says how it was told (READY=1,
	// /readyz, its PORT), Delay how long it took from the start.
	EventReady Kind = "ready"
	// EventReloading and EventReloaded: a worker sent RELOADING=1, then
	// READY=1 again (a config reload after SIGHUP).
	EventReloading Kind = "reloading"
	EventReloaded  Kind = "reloaded"
	// EventStopping: a worker sent STOPPING=1; Expected when the
	// supervisor had asked it to stop.
	EventStopping Kind = "stopping"
	// EventExited: a worker process ended; Reason is how ("exit status 1",
	// "killed by SIGSEGV"), Expected whether the supervisor stopped it,
	// Delay how long it ran.
	EventExited Kind = "exited"
	// EventCrashed: a worker exited on its own and will be restarted
	// after Delay; Restarts counts its slot's restarts, Lines are its last
	// lines of output.
	EventCrashed Kind = "crashed"
	// EventStartFailed: a worker could not be started at all (Reason); it
	// is tried again after Delay.
	EventStartFailed Kind = "start-failed"
	// EventRollStarted, EventRollDone: a rollout of a service onto Binary
	// began, and replaced every worker (Restarts is the number, Delay the
	// time it took).
	EventRollStarted Kind = "roll-started"
	EventRollDone    Kind = "roll-done"
	// EventRollFailed: a new worker of a rollout exited or was not ready in
	// time; Reason says which and why, Lines are its last lines of output.
	// The old workers keep serving.
	EventRollFailed Kind = "roll-failed"
	// EventRollCancelled: a rollout stopped because its context ended (a
	// newer build); the new worker being started was stopped.
	EventRollCancelled Kind = "roll-cancelled"
	// EventScaled, EventAdded, EventRemoved: a service's worker count
	// changed (Reason "2 → 4 workers"), a service was started or stopped.
	EventScaled  Kind = "scaled"
	EventAdded   Kind = "added"
	EventRemoved Kind = "removed"
	// EventStaleKilled: a worker left running by a supervisor that was
	// killed was found in the state directory and killed.
	EventStaleKilled Kind = "stale-killed"
	// EventWarning: something a person should know (Reason).
	EventWarning Kind = "warning"
)

// Event is something the supervisor did or saw.
type Event struct {
	Time    time.Time
	Kind    Kind
	Service string
	Worker  int // 1..procs; 0 for an event about the service
	PID     int
	Binary  string
	Reason  string
	// Lines are a failed worker's last lines of output, oldest first.
	Lines    []string
	Delay    time.Duration
	Restarts int
	Expected bool
}

// String is the event for people: "web.2 crashed (exit status 2);
// restarting in 1s (restart 3)".
func (e Event) String() string {
	who := e.Service
	if e.Worker > 0 {
		who = WorkerID(e.Service, e.Worker)
	}
	pid := ""
	if e.PID > 0 {
		pid = fmt.Sprintf(" (pid %d)", e.PID)
	}
	var s string
	switch e.Kind {
	case EventStarted:
		s = fmt.Sprintf("%s started%s: %s", who, pid, e.Binary)
	case EventReady:
		s = fmt.Sprintf("%s ready%s in %s: %s", who, pid, e.Delay.Round(time.Millisecond), e.Reason)
	case EventReloading:
		s = fmt.Sprintf("%s reloading its config%s", who, pid)
	case EventReloaded:
		s = fmt.Sprintf("%s reloaded its config%s", who, pid)
	case EventStopping:
		s = fmt.Sprintf("%s stopping%s", who, pid)
	case EventExited:
		s = fmt.Sprintf("%s exited%s after %s: %s", who, pid, e.Delay.Round(time.Millisecond), e.Reason)
	case EventCrashed:
		s = fmt.Sprintf("%s crashed%s: %s; restarting in %s (restart %d)", who, pid, e.Reason, e.Delay, e.Restarts)
	case EventStartFailed:
		s = fmt.Sprintf("%s could not start: %s; trying again in %s", who, e.Reason, e.Delay)
	case EventRollStarted:
		s = fmt.Sprintf("rolling %s: %d workers onto %s", who, e.Restarts, e.Binary)
	case EventRollDone:
		s = fmt.Sprintf("rolled %s: %d workers in %s", who, e.Restarts, e.Delay.Round(time.Millisecond))
	case EventRollFailed:
		s = "ROLLOUT FAILED: " + e.Reason
	case EventRollCancelled:
		s = fmt.Sprintf("rollout of %s cancelled: %s", e.Service, e.Reason)
	case EventScaled:
		s = fmt.Sprintf("scaled %s: %s", who, e.Reason)
	case EventAdded:
		s = fmt.Sprintf("added %s: %d workers of %s", who, e.Restarts, e.Binary)
	case EventRemoved:
		s = fmt.Sprintf("removed %s", who)
	case EventStaleKilled:
		s = fmt.Sprintf("killed stale worker %s%s: %s", who, pid, e.Reason)
	default:
		s = fmt.Sprintf("%s: %s", who, e.Reason)
	}
	if len(e.Lines) > 0 {
		s += "\n  | " + strings.Join(e.Lines, "\n  | ")
	}
	return s
}

// emit queues e for OnEvent.
func (s *Supervisor) emit(e Event) {
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	s.events.push(e)
}

// dispatcher delivers events in order from one goroutine, so a slow
// OnEvent never holds the supervisor up, and OnEvent may call Status.
type dispatcher struct {
	fn     func(Event)
	mu     sync.Mutex
	queue  []Event
	closed bool
	wake   chan struct{} // has room for one pending wake-up
}

func newDispatcher(fn func(Event)) *dispatcher {
	return &dispatcher{fn: fn, wake: make(chan struct{}, 1)}
}

func (d *dispatcher) push(e Event) {
	if d.fn == nil {
		return
	}
	d.mu.Lock()
	d.queue = append(d.queue, e)
	d.mu.Unlock()
	d.signal()
}

func (d *dispatcher) signal() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// close makes run return once the queue is delivered.
func (d *dispatcher) close() {
	d.mu.Lock()
	d.closed = true
	d.mu.Unlock()
	d.signal()
}

func (d *dispatcher) run() {
	for {
		d.mu.Lock()
		batch, closed := d.queue, d.closed
		d.queue = nil
		d.mu.Unlock()
		for _, e := range batch {
			d.fn(e)
		}
		if len(batch) == 0 {
			if closed {
				return
			}
			<-d.wake
		}
	}
}
