package export

import (
	"fmt"
	"path"
	"strings"

	"github.com/toilhq/toil/layout"
)

// Systemd renders the layout as systemd units, the worker protocol
// (DESIGN §4) being systemd's own: per listening toil service a .socket
// that every worker inherits (LISTEN_FDS, named after the service), a
// template NAME@.service per service run as instances 1..procs
// (TOIL_WORKER=%i), a <layout>.target wanting every instance, and
// enable.sh, which installs and starts them.
func Systemd(l *layout.Layout, o Options) ([]File, error) {
	var files []File
	var instances []string
	var sockets []string
	backing := BackingEnv(l, "")
	for _, s := range l.Services {
		unit := BinaryName(l, s)
		socket := ""
		if !s.Listen.IsZero() {
			listen, err := systemdListen(s)
			if err != nil {
				return nil, err
			}
			if s.Toil() {
				socket = unit + ".socket"
				sockets = append(sockets, socket)
				files = append(files, File{Name: socket, Mode: 0o644, Data: []byte(systemdSocket(l, s, listen, o))})
			}
		}
		svc, err := systemdService(l, s, socket, backing, o)
		if err != nil {
			return nil, err
		}
		files = append(files, File{Name: unit + "@.service", Mode: 0o644, Data: []byte(svc)})
		for i := 1; i <= s.Procs; i++ {
			instances = append(instances, fmt.Sprintf("%s@%d.service", unit, i))
		}
	}

	var t strings.Builder
	t.WriteString(Header("# ", "the systemd target of the whole layout", o))
	fmt.Fprintf(&t, "\n[Unit]\nDescription=%s (toil)\n", l.Name)
	for _, in := range instances {
		fmt.Fprintf(&t, "Wants=%s\n", in)
	}
	t.WriteString("\n[Install]\nWantedBy=multi-user.target\n")
	files = append(files, File{Name: l.Name + ".target", Mode: 0o644, Data: []byte(t.String())})

	var sh strings.Builder
	sh.WriteString("#!/bin/sh\n")
	sh.WriteString(Header("# ", "installs and starts the units beside it", o))
	sh.WriteString("# Run it as root on the machine, from anywhere.\n")
	sh.WriteString("set -eu\ncd \"$(dirname \"$0\")\"\n")
	for _, s := range l.Services {
		for _, c := range s.Config {
			// A worker without its config would crash-loop; say so first.
			p := path.Join(ConfigDir(l), path.Clean(c))
			fmt.Fprintf(&sh, "test -e %s || { echo \"enable.sh: %s reads %s: copy it there first\" >&2; exit 1; }\n", shellQuote(p), s.Name, shellQuote(p))
		}
	}
	var units []string
	for _, f := range files {
		units = append(units, f.Name)
	}
	fmt.Fprintf(&sh, "install -m 0644 %s /etc/systemd/system/\n", strings.Join(units, " "))
	sh.WriteString("systemctl daemon-reload\n")
	if len(sockets) > 0 {
		fmt.Fprintf(&sh, "systemctl enable --now %s\n", strings.Join(sockets, " "))
	}
	for _, s := range l.Services {
		fmt.Fprintf(&sh, "systemctl enable --now %s\n", strings.Join(instanceNames(l, s), " "))
	}
	fmt.Fprintf(&sh, "systemctl enable --now %s.target\n", l.Name)
	files = append(files, File{Name: "enable.sh", Mode: 0o755, Data: []byte(sh.String())})
	return files, nil
}

func instanceNames(l *layout.Layout, s *layout.Service) []string {
	out := make([]string, s.Procs)
	for i := range out {
		out[i] = fmt.Sprintf("%s@%d.service", BinaryName(l, s), i+1)
	}
	return out
}

// systemdListen is s's address as ListenStream= takes it.
func systemdListen(s *layout.Service) (string, error) {
	switch {
	case s.Listen.Auto:
		return "", &Error{Target: "systemd", Service: s.Name, Reason: "listen: auto picks a port when toil starts, and systemd binds the socket itself; give the service a fixed address such as listen: \"127.0.0.1:8081\""}
	case s.Listen.Network == "unix":
		if !path.IsAbs(s.Listen.Addr) {
			return "", &Error{Target: "systemd", Service: s.Name, Reason: fmt.Sprintf("listen %s is relative to toil.yaml's directory, which production does not have; use an absolute path such as unix:/run/%s.sock", s.Listen, s.Name)}
		}
		if !s.Toil() {
			return "", &Error{Target: "systemd", Service: s.Name, Reason: fmt.Sprintf("listen %s: a main: package listens on PORT, a TCP port; give it a host:port", s.Listen)}
		}
		return s.Listen.Addr, nil
	}
	if !s.Toil() && s.Procs > 1 {
		return "", &Error{Target: "systemd", Service: s.Name, Reason: fmt.Sprintf("a main: package binds PORT itself, so only one of its %d workers could listen on %s under systemd; use procs: 1, or make it a run: service, whose workers share one socket", s.Procs, s.Listen)}
	}
	addr := s.Listen.Addr
	if s.Listen.Host() == "" {
		addr = strings.TrimPrefix(addr, ":") // a bare port is every interface
	}
	return addr, nil
}

func systemdSocket(l *layout.Layout, s *layout.Service, listen string, o Options) string {
	var b strings.Builder
	b.WriteString(Header("# ", fmt.Sprintf("the socket every %s worker inherits", s.Name), o))
	fmt.Fprintf(&b, "\n[Unit]\nDescription=%s %s socket (toil)\nPartOf=%s.target\n", l.Name, s.Name, l.Name)
	fmt.Fprintf(&b, "\n[Socket]\nListenStream=%s\n", listen)
	// The worker asks for its socket by the service's name (LISTEN_FDNAMES).
	fmt.Fprintf(&b, "FileDescriptorName=%s\n", s.Name)
	// A connection arriving before the workers run starts worker 1; the
	// others start with the target.
	fmt.Fprintf(&b, "Service=%s@1.service\n", BinaryName(l, s))
	b.WriteString("\n[Install]\nWantedBy=sockets.target\n")
	return b.String()
}

func systemdService(l *layout.Layout, s *layout.Service, socket string, backing layout.Env, o Options) (string, error) {
	var b strings.Builder
	unit := BinaryName(l, s)
	what := fmt.Sprintf("the %s workers, run as %s@1 to %s@%d", s.Name, unit, unit, s.Procs)
	if s.Procs == 1 {
		what = fmt.Sprintf("the %s worker, run as %s@1", s.Name, unit)
	}
	b.WriteString(Header("# ", what, o))
	fmt.Fprintf(&b, "\n[Unit]\nDescription=%s %s worker %%i (toil)\nPartOf=%s.target\n", l.Name, s.Name, l.Name)
	after := []string{"network.target"}
	if socket != "" {
		fmt.Fprintf(&b, "Requires=%s\n", socket)
		after = append(after, socket)
	}
	for _, d := range s.Depends {
		if dep := l.Service(d); dep != nil {
			after = append(after, instanceNames(l, dep)...)
		}
	}
	fmt.Fprintf(&b, "After=%s\n", strings.Join(after, " "))

	b.WriteString("\n[Service]\n")
	if s.Toil() {
		// A toil worker says READY=1 after Setup, as it does under toil dev.
		b.WriteString("Type=notify\nNotifyAccess=main\n")
		fmt.Fprintf(&b, "TimeoutStartSec=%s\n", seconds(s.ReadyTimeout))
	} else {
		// A plain main package knows nothing of sd_notify; it is up once
		// it runs.
		b.WriteString("Type=exec\n")
	}
	if socket != "" {
		fmt.Fprintf(&b, "Sockets=%s\n", socket)
	}
	words := append([]string{Binary(l, s, o)}, s.Args...)
	for i, w := range words {
		words[i] = systemdQuote(w, true)
	}
	fmt.Fprintf(&b, "ExecStart=%s\n", strings.Join(words, " "))
	if s.Toil() {
		// SIGHUP reloads a toil worker's config files without a restart
		// (a plain main package might die of it).
		b.WriteString("ExecReload=/bin/kill -HUP $MAINPID\n")
	}
	if len(s.Config) > 0 {
		// Config paths are relative to toil.yaml's directory, the worker's
		// working directory under toil dev; here, ConfigDir holds them.
		fmt.Fprintf(&b, "# Reads %s from here: copy them in.\n", strings.Join(s.Config, ", "))
		fmt.Fprintf(&b, "WorkingDirectory=%s\n", ConfigDir(l))
	}

	env := layout.Env{}
	for _, kv := range l.Environ(s, backing) {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = systemdQuote(v, false)
	}
	env["TOIL_SERVICE"] = s.Name
	env["TOIL_ENV"] = "prod"
	env["TOIL_WORKER"] = "%i"
	if !s.Toil() && s.Listen.Network == "tcp" && !s.Listen.Auto {
		env["PORT"] = fmt.Sprint(s.Listen.Port())
		if h := s.Listen.Host(); h != "" {
			fmt.Fprintf(&b, "# A main package binds :$PORT, every interface, not only %s: firewall the port.\n", h)
		}
	}
	for _, k := range env.Keys() {
		fmt.Fprintf(&b, "Environment=\"%s=%s\"\n", k, env[k])
	}
	b.WriteString("KillSignal=SIGTERM\n")
	fmt.Fprintf(&b, "TimeoutStopSec=%s\n", seconds(s.StopTimeout))
	b.WriteString("Restart=on-failure\n")
	fmt.Fprintf(&b, "RestartSec=%s\n", seconds(layout.BackoffMin))
	fmt.Fprintf(&b, "\n[Install]\nWantedBy=%s.target\n", l.Name)
	return b.String(), nil
}

// systemdQuote escapes w for a unit file: % starts a specifier, and in a
// command line $ a variable, \ and " quote; words with spaces are quoted.
func systemdQuote(w string, cmd bool) string {
	w = strings.ReplaceAll(w, `\`, `\\`)
	w = strings.ReplaceAll(w, `"`, `\"`)
	w = strings.ReplaceAll(w, "%", "%%")
	if !cmd {
		return w
	}
	w = strings.ReplaceAll(w, "$", "$$")
	if w == "" || strings.ContainsAny(w, " \t'") {
		w = `"` + w + `"`
	}
	return w
}

// ConfigDir is the working directory of the systemd units of services
// with config files, which are expected there at the paths toil.yaml gives.
func ConfigDir(l *layout.Layout) string { return "/etc/" + l.Name }

// DefaultPorts are the ports backing systems listen on when toil.yaml
// fixes none: exports cannot pick a free port at start as toil does, so
// they use each kind's usual one.
var DefaultPorts = map[string]int{"kafka": 9092, "nats": 4222, "postgres": 5432, "redis": 6379}

// BackingEnv is the variables the backing systems give every service in
// production: each backing's env with its fixed port, or its kind's usual
// one ([DefaultPorts]), and host in place of 127.0.0.1 when host is not ""
// (a Kubernetes Service's name).
func BackingEnv(l *layout.Layout, host string) layout.Env {
	out := layout.Env{}
	for _, bk := range l.Backing {
		port := bk.Port
		if port == 0 {
			port = DefaultPorts[bk.Kind]
		}
		for k, v := range bk.Environ(port) {
			if host != "" {
				v = strings.ReplaceAll(v, "127.0.0.1", strings.ReplaceAll(host, "{name}", bk.Name))
			}
			out[k] = v
		}
	}
	return out
}
