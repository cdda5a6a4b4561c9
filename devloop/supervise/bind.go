package supervise

import (
	"net"
	"os"

	"github.com/toilhq/toil/layout"
)

// Socket is a service's listening socket, opened as toil dev opens it,
// for workers started outside a Supervisor (toil run) to inherit.
type Socket struct {
	Listener net.Listener
	File     *os.File // a duplicate for workers to inherit (LISTEN_FDS)
	Addr     string   // where clients connect: 127.0.0.1:8081, or a socket path
}

// Close closes the listener and the workers' copy.
func (s *Socket) Close() {
	s.File.Close()
	s.Listener.Close()
}

// Bind opens spec's listen address (an auto one on a free loopback port),
// with the error toil dev gives when it is taken.
func Bind(l *layout.Layout, spec *layout.Service) (*Socket, error) {
	k, err := bind(l, spec)
	if err != nil {
		return nil, err
	}
	f, err := fileOf(k.ln)
	if err != nil {
		k.ln.Close()
		return nil, err
	}
	return &Socket{Listener: k.ln, File: f, Addr: k.addr}, nil
}
