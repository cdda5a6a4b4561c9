package supervise

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/toilhq/toil/layout"
)

// service is one service of the layout and its workers.
type service struct {
	name   string
	spec   *layout.Service
	binary string  // what new workers run; each slot remembers its own
	sock   *socket // a run: service's socket, inherited by its workers
	front  *front  // a main: service's listen address, forwarded to its workers
	slots  []*slot

	// op serializes the operations that change the set of workers (Start,
	// Roll, Scale, Remove) of one service; crash restarts only refill a
	// slot.
	op        sync.Mutex
	rolling   bool
	successor *proc // the new worker a rollout waits for
	removed   bool

	pubVer    uint64 // bumped under s.mu for each backend set computed
	delivered uint64 // the last version given to OnBackends, under s.pubMu
}

// slot is worker n of a service: the process serving as it, and its crash
// history.
type slot struct {
	n        int
	cur      *proc  // nil while it waits for a restart
	binary   string // what a restart runs
	restarts int
	crashed  bool          // it crashed since the last rollout
	backoff  time.Duration // the delay before the last restart
	startErr string        // why the last start failed, if it did
	lastErr  string        // how the last crashed worker ended
	since    time.Time     // when it last crashed or failed to start
	restart  chan struct{} // a pending restart; closed to cancel it
	gone     bool          // scaled away, or the service removed
}

// socket is a listening socket the supervisor holds for its whole life.
type socket struct {
	ln   net.Listener
	file *os.File // what workers inherit as fd 3; nil for a forwarded address
	addr string   // for clients: "127.0.0.1:8081" or an absolute socket path
}

func (k *socket) close() {
	if k == nil {
		return
	}
	if k.file != nil {
		k.file.Close()
	}
	k.ln.Close()
}

// newService binds the service's listen address: a run: service's socket
// that its workers inherit, or the address a main: service's workers are
// reached through.
func (s *Supervisor) newService(spec *layout.Service) (*service, error) {
	svc := &service{name: spec.Name, spec: spec}
	if spec.Listen.IsZero() {
		return svc, nil
	}
	k, err := bind(s.layout, spec)
	if err != nil {
		return nil, err
	}
	if spec.Toil() {
		f, err := fileOf(k.ln)
		if err != nil {
			k.close()
			return nil, fmt.Errorf("%s: %w", spec.Name, err)
		}
		k.file = f
		svc.sock = k
		return svc, nil
	}
	svc.front = s.newFront(svc, k)
	return svc, nil
}

// closeSockets closes the supervisor's copies of the service's sockets and
// stops its forwarder. Workers keep their own copies until they exit.
func (s *Supervisor) closeSockets(svc *service) {
	s.mu.Lock()
	sock, front := svc.sock, svc.front
	svc.sock, svc.front = nil, nil
	s.mu.Unlock()
	sock.close()
	if front != nil {
		front.close()
	}
}

// bind opens spec's listen address.
func bind(l *layout.Layout, spec *layout.Service) (*socket, error) {
	where := fmt.Sprintf("services.%s.listen", spec.Name)
	if l.File != "" && spec.Pos.Line > 0 {
		where = fmt.Sprintf("%s:%d: %s", l.File, spec.Pos.Line, where)
	}
	ln := spec.Listen
	switch {
	case ln.Auto:
		k, err := listenTCP("127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("%s: auto: %w", where, err)
		}
		return k, nil
	case ln.Network == "unix":
		path := l.Path(ln.Addr)
		if abs, err := filepath.Abs(path); err == nil {
			path = abs
		}
		if err := clearStaleSocket(path); err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
		u, err := net.Listen("unix", path)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
		return &socket{ln: u, addr: path}, nil
	default:
		k, err := listenTCP(ln.Addr)
		if errors.Is(err, syscall.EADDRINUSE) {
			return nil, fmt.Errorf("%s: %s is in use by another program (see which with: ss -ltnp 'sport = :%d'); stop it, or change listen in toil.yaml", where, ln.Addr, ln.Port())
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
		return k, nil
	}
}

func listenTCP(addr string) (*socket, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	a := ln.Addr().(*net.TCPAddr)
	host := a.IP
	if host.IsUnspecified() {
		// Bound on every interface: clients on this machine use loopback.
		host = net.IPv4(127, 0, 0, 1)
		if strings.HasPrefix(addr, "[") {
			host = net.IPv6loopback
		}
	}
	return &socket{ln: ln, addr: net.JoinHostPort(host.String(), strconv.Itoa(a.Port))}, nil
}

// clearStaleSocket removes a unix socket file nobody listens on any more
// (its supervisor was killed), so binding it again works.
func clearStaleSocket(path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if fi.Mode()&fs.ModeSocket == 0 {
		return fmt.Errorf("%s exists and is not a socket; remove it or choose another path", path)
	}
	c, err := net.Dial("unix", path)
	if err == nil {
		c.Close()
		return fmt.Errorf("another program listens on %s; stop it or choose another path", path)
	}
	return os.Remove(path)
}

// fileOf is a duplicate of ln's descriptor for workers to inherit.
//
// Not ln.File(): os/exec calls Fd on every inherited file, and Fd puts a
// file from File() into blocking mode, which for a socket is a flag of the
// socket shared by every copy: each worker started would turn the
// running workers' accept into a blocking call that their shutdown cannot
// interrupt (it waits for the next connection). A duplicate wrapped by
// os.NewFile while the socket is non-blocking stays non-blocking through
// Fd.
func fileOf(ln net.Listener) (*os.File, error) {
	sc, ok := ln.(syscall.Conn)
	if !ok {
		return nil, fmt.Errorf("cannot pass a %T to workers", ln)
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil, err
	}
	dup, derr := -1, error(nil)
	if err := rc.Control(func(fd uintptr) { dup, derr = dupCloexec(int(fd)) }); err != nil {
		return nil, err
	}
	if derr != nil {
		return nil, fmt.Errorf("dup listening socket: %w", derr)
	}
	return os.NewFile(uintptr(dup), ln.Addr().String()), nil
}

// startSlots brings svc up to n workers (svc.op is held).
func (s *Supervisor) startSlots(svc *service, n int) error {
	s.mu.Lock()
	var added []*slot
	for i := len(svc.slots) + 1; i <= n; i++ {
		sl := &slot{n: i, binary: svc.binary}
		svc.slots = append(svc.slots, sl)
		added = append(added, sl)
	}
	sock := svc.sock
	s.mu.Unlock()
	for _, sl := range added {
		if _, err := s.startProc(svc, sl, sl.binary, sock, true); err != nil {
			if errors.Is(err, ErrStopped) {
				return err
			}
			s.startFailed(svc, sl, err)
		}
	}
	return nil
}

// startFailed records that a worker could not even be started, and tries
// again after a backoff.
func (s *Supervisor) startFailed(svc *service, sl *slot, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sl.startErr = err.Error()
	sl.lastErr = sl.startErr
	sl.since = time.Now()
	sl.crashed = true
	sl.backoff = s.nextBackoff(sl, 0)
	sl.restarts++
	s.emit(Event{Kind: EventStartFailed, Service: svc.name, Worker: sl.n, Binary: sl.binary, Reason: err.Error(), Delay: sl.backoff, Restarts: sl.restarts})
	s.scheduleRestartLocked(svc, sl, sl.backoff)
}

// nextBackoff is the delay before restarting sl after a worker that was up
// for uptime: doubling from the minimum, back to the minimum after a worker
// stayed up for BackoffReset.
func (s *Supervisor) nextBackoff(sl *slot, uptime time.Duration) time.Duration {
	if !sl.crashed || sl.backoff == 0 || uptime >= s.backoffReset {
		return s.backoffMin
	}
	return min(2*sl.backoff, s.backoffMax)
}

// publish gives OnBackends svc's current backends, unless a newer set was
// given already. It must be called without s.mu.
func (s *Supervisor) publish(svc *service) {
	if s.opts.OnBackends == nil {
		return
	}
	s.mu.Lock()
	list := s.backendsLocked(svc)
	svc.pubVer++
	v := svc.pubVer
	s.mu.Unlock()
	s.pubMu.Lock()
	defer s.pubMu.Unlock()
	if v <= svc.delivered {
		return
	}
	svc.delivered = v
	s.opts.OnBackends(svc.name, list)
}

// backendsLocked is where svc's requests can go now.
func (s *Supervisor) backendsLocked(svc *service) []Backend {
	if svc.removed {
		return nil
	}
	if svc.spec.Toil() {
		if svc.sock == nil {
			return nil
		}
		return []Backend{{ID: svc.name, Addr: svc.sock.addr}}
	}
	var out []Backend
	for _, sl := range svc.slots {
		if p := sl.cur; p != nil && p.serving() {
			out = append(out, Backend{ID: WorkerID(svc.name, sl.n), Addr: p.portAddr()})
		}
	}
	return out
}
