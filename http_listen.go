package toil

import (
	"fmt"
	"net"
	"slices"
	"strings"
)

// listen picks the HTTP mixin's socket, in order: the inherited socket
// named after its config key; for the service's first HTTP field, the one
// named after the service, the only inherited socket, then :$PORT; then
// the configured addr.
func (h *HTTP) listen(env *MixinEnv, cfg *HTTPConfig) (net.Listener, error) {
	primary := env.primary()
	names := []string{env.Section}
	if primary {
		names = append(names, env.Service)
	}
	ln, others := env.p.sockets.takeHTTP(names, primary)
	if ln != nil {
		return ln, nil
	}
	if primary {
		if port, ok := env.LookupEnv("PORT"); ok && port != "" {
			ln, err := net.Listen("tcp", net.JoinHostPort("", port))
			if err != nil {
				return nil, fmt.Errorf("listen on PORT=%s: %w", port, err)
			}
			return ln, nil
		}
	}
	if cfg.Addr != "" {
		ln, err := net.Listen("tcp", cfg.Addr)
		if err != nil {
			return nil, fmt.Errorf("listen on %s.addr %s: %w", env.Section, cfg.Addr, err)
		}
		return ln, nil
	}
	var hint string
	if len(others) > 0 {
		slices.Sort(others) // the sockets are held in a map: say them in a stable order
		hint = fmt.Sprintf(" (the inherited sockets are %s; none is named %s)", strings.Join(others, ", "), strings.Join(names, " or "))
	}
	if primary {
		return nil, fmt.Errorf("listen: no inherited socket and no address: set PORT, pass a socket named %s through LISTEN_FDS, or set %s.addr in the config%s", env.Section, env.Section, hint)
	}
	return nil, fmt.Errorf("listen: no inherited socket named %s and no address: set %s.addr in the config%s", env.Section, env.Section, hint)
}

// takeHTTP hands out the first untaken inherited socket named one of
// names; failing that, if only is true and exactly one inherited socket is
// untaken, that one (systemd names a socket after its unit unless told
// otherwise). It returns the untaken sockets' names when it hands out none.
func (s *sockets) takeHTTP(names []string, only bool) (net.Listener, []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, name := range names {
		for _, sk := range s.list {
			if !sk.taken && sk.name == name {
				sk.taken = true
				return sk.ln, nil
			}
		}
	}
	var free []*socket
	for _, sk := range s.list {
		if !sk.taken {
			free = append(free, sk)
		}
	}
	if only && len(free) == 1 {
		free[0].taken = true
		return free[0].ln, nil
	}
	var out []string
	for _, sk := range free {
		out = append(out, sk.name)
	}
	return nil, out
}
