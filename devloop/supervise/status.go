package supervise

import "time"

// State is a worker's state in [Supervisor.Status].
type State string

// The states of a worker.
const (
	// StateStarting: its process runs and is not ready yet.
	StateStarting State = "starting"
	// StateReady: it serves.
	StateReady State = "ready"
	// StateStopping: it was sent SIGTERM and has not exited yet.
	StateStopping State = "stopping"
	// StateCrashlooping: it crashed, and has not stayed up for
	// layout.BackoffReset since: it waits for its restart, or was
	// restarted and may crash again.
	StateCrashlooping State = "crashlooping"
	// StateFailed: its process could not be started at all (Error says
	// why); it is tried again after a backoff.
	StateFailed State = "failed"
)

// ServiceStatus is a service and its workers at one moment.
type ServiceStatus struct {
	Name string
	// Toil is true for a run: service, false for a main: one.
	Toil bool
	// Addr is where clients reach the service ("127.0.0.1:8081", a socket
	// path), or "" when it listens nowhere.
	Addr string
	// Binary is what new workers run.
	Binary  string
	Rolling bool
	Workers []WorkerStatus
}

// WorkerStatus is one worker.
type WorkerStatus struct {
	Worker   int
	ID       string // "web.2"
	PID      int    // 0 while it has no process
	State    State
	Restarts int
	Binary   string
	// Since is when it entered State (for crashlooping, the last crash).
	Since     time.Time
	Port      int    // PORT, for a main: service
	AdminAddr string // TOIL_ADMIN_ADDR
	// Error is how its last crashed worker ended, or why it could not
	// start.
	Error string
	// Successor is the new worker a rollout is starting for this one.
	Successor *WorkerStatus
}

// Status is every service's state, in the layout's order.
func (s *Supervisor) Status() []ServiceStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	out := make([]ServiceStatus, 0, len(s.services))
	for _, svc := range s.services {
		st := ServiceStatus{Name: svc.name, Toil: svc.spec.Toil(), Binary: svc.binary, Rolling: svc.rolling}
		switch {
		case svc.sock != nil:
			st.Addr = svc.sock.addr
		case svc.front != nil:
			st.Addr = svc.front.sock.addr
		}
		for _, sl := range svc.slots {
			w := s.slotStatusLocked(svc, sl, now)
			if q := svc.successor; q != nil && q.slot == sl {
				qs := procStatus(q)
				w.Successor = &qs
			}
			st.Workers = append(st.Workers, w)
		}
		out = append(out, st)
	}
	return out
}

func (s *Supervisor) slotStatusLocked(svc *service, sl *slot, now time.Time) WorkerStatus {
	p := sl.cur
	var w WorkerStatus
	if p != nil {
		w = procStatus(p)
	}
	w.Worker, w.ID, w.Restarts, w.Error = sl.n, WorkerID(svc.name, sl.n), sl.restarts, sl.lastErr
	if w.Binary == "" {
		w.Binary = sl.binary
	}
	switch {
	case p == nil && sl.startErr != "":
		w.State, w.Since = StateFailed, sl.since
	case p != nil && p.stopping:
		// stays as procStatus set it
	case sl.crashed && (p == nil || p.readyAt.IsZero() || now.Sub(p.start) < s.backoffReset):
		w.State, w.Since = StateCrashlooping, sl.since
	}
	return w
}

func procStatus(p *proc) WorkerStatus {
	w := WorkerStatus{PID: p.pid, Binary: p.binary, Port: p.port, AdminAddr: p.admin}
	switch {
	case p.stopping:
		w.State, w.Since = StateStopping, p.stopAt
	case p.readyAt.IsZero():
		w.State, w.Since = StateStarting, p.start
	default:
		w.State, w.Since = StateReady, p.readyAt
	}
	return w
}
