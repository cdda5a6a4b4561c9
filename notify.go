package toil

import (
	"fmt"
	"net"
	"strings"
)

// notifier speaks systemd's sd_notify protocol: one datagram per state
// change to $NOTIFY_SOCKET, a path or an abstract name starting with '@'.
// Without NOTIFY_SOCKET it does nothing, which is how a worker runs by hand.
type notifier struct {
	addr string
}

// send writes one state message, e.g. "READY=1".
func (n notifier) send(state string) error {
	if n.addr == "" {
		return nil
	}
	// Go maps a leading '@' to the abstract namespace itself.
	conn, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: n.addr, Net: "unixgram"})
	if err != nil {
		return fmt.Errorf("notify %s: %w", n.addr, err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte(state)); err != nil {
		return fmt.Errorf("notify %s %s: %w", n.addr, strings.ReplaceAll(state, "\n", " "), err)
	}
	return nil
}

// reloading is RELOADING=1 with the timestamp systemd's notify-reload
// services must send alongside it.
func reloading() string {
	usec, ok := monotonicUsec()
	if !ok {
		return "RELOADING=1"
	}
	return fmt.Sprintf("RELOADING=1\nMONOTONIC_USEC=%d", usec)
}
