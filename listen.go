package toil

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
)

// socket is one listening socket the worker was handed.
type socket struct {
	name  string
	ln    net.Listener
	taken bool
}

// sockets hands out the worker's listening sockets: those inherited through
// LISTEN_FDS (systemd socket activation, toil dev, toil up), else new ones
// on PORT or a configured address.
type sockets struct {
	mu        sync.Mutex
	list      []*socket
	lookupEnv func(string) (string, bool)
}

// listen returns the socket called name. The rules, in order:
//
//   - an inherited socket with that name (LISTEN_FDNAMES); with name "", the
//     only inherited socket (an error when there are several);
//   - for name "" or "http": a new listener on :$PORT when PORT is set;
//   - a new listener on addr when addr is not "";
//   - else an error saying what to set.
//
// Each inherited socket is handed out once; the caller owns what it gets.
func (s *sockets) listen(name, addr string) (net.Listener, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var free []*socket
	for _, sk := range s.list {
		if name != "" && sk.name == name {
			if sk.taken {
				return nil, fmt.Errorf("listen %s: the inherited socket %s is already in use", name, name)
			}
			sk.taken = true
			return sk.ln, nil
		}
		if !sk.taken {
			free = append(free, sk)
		}
	}
	if name == "" && len(free) == 1 {
		free[0].taken = true
		return free[0].ln, nil
	}
	if name == "" && len(free) > 1 {
		var names []string
		for _, sk := range free {
			names = append(names, sk.name)
		}
		return nil, fmt.Errorf("listen: %d inherited sockets (%s); ask for one by name", len(free), strings.Join(names, ", "))
	}
	if name == "" || name == "http" {
		if port, ok := s.lookupEnv("PORT"); ok && port != "" {
			addr = net.JoinHostPort("", port)
		}
	}
	if addr == "" {
		what := "socket " + name
		if name == "" {
			what = "socket"
		}
		return nil, fmt.Errorf("listen: no inherited %s and no address: set PORT, pass a socket through LISTEN_FDS, or configure an address", what)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen %s: %w", addr, err)
	}
	return ln, nil
}

// closeUnused closes the inherited sockets nobody asked for.
func (s *sockets) closeUnused() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, sk := range s.list {
		if !sk.taken {
			sk.ln.Close()
			sk.taken = true
		}
	}
}

// inherited sockets belong to the process: they are read once, however
// many services it runs.
var inherit struct {
	sync.Mutex
	read bool
	list []*socket
	err  error
}

func inheritedSockets() ([]*socket, error) {
	inherit.Lock()
	defer inherit.Unlock()
	if !inherit.read {
		inherit.read = true
		inherit.list, inherit.err = readListenFDs()
	}
	list := inherit.list
	inherit.list = nil // a second Run in this process gets none
	return list, inherit.err
}

// readListenFDs implements sd_listen_fds(3): fds 3 .. 3+LISTEN_FDS-1,
// named by LISTEN_FDNAMES, meant for us only if LISTEN_PID is our pid. The
// variables are unset so that our own children do not take them for theirs.
func readListenFDs() ([]*socket, error) {
	pid, fds, names := os.Getenv("LISTEN_PID"), os.Getenv("LISTEN_FDS"), os.Getenv("LISTEN_FDNAMES")
	os.Unsetenv("LISTEN_PID")
	os.Unsetenv("LISTEN_FDS")
	os.Unsetenv("LISTEN_FDNAMES")
	if fds == "" {
		return nil, nil
	}
	if pid != strconv.Itoa(os.Getpid()) {
		// Another process's sockets, leaked through the environment.
		return nil, nil
	}
	n, err := strconv.Atoi(fds)
	if err != nil || n < 0 {
		return nil, usagef("LISTEN_FDS=%q: want a number of sockets", fds)
	}
	nameList := strings.Split(names, ":")
	var list []*socket
	for i := range n {
		fd := 3 + i
		name := "unknown" // systemd's name for an unnamed socket
		if i < len(nameList) && nameList[i] != "" {
			name = nameList[i]
		}
		closeOnExec(fd)
		f := os.NewFile(uintptr(fd), name)
		ln, err := net.FileListener(f)
		f.Close() // FileListener holds its own duplicate
		if err != nil {
			for _, sk := range list {
				sk.ln.Close()
			}
			return nil, fmt.Errorf("inherited fd %d (%s): %w", fd, name, errors.Unwrap(err))
		}
		list = append(list, &socket{name: name, ln: ln})
	}
	return list, nil
}
