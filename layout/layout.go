package layout

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// FileName is the name of the layout file, looked up by [Find].
const FileName = "toil.yaml"

// Defaults, applied by [Layout.Default]. They are exported so exports write
// the same numbers the dev supervisor uses (TimeoutStopSec,
// terminationGracePeriodSeconds, RestartSec, nginx proxy_*_timeout).
const (
	// DefaultProcs is a service's worker count when procs is not set.
	DefaultProcs = 1
	// MaxProcs bounds procs: more workers than this for one service is a
	// typo (procs: 1000 for 10), not a layout.
	MaxProcs = 256

	// DefaultStopTimeout is how long a worker has between SIGTERM and
	// SIGKILL (stop_timeout); watchexec's and goreman's 10 s.
	DefaultStopTimeout = 10 * time.Second
	// DefaultReadyTimeout is how long a new worker or a backing system has
	// to become ready before a rollout gives up on it and keeps the old
	// workers (ready_timeout).
	DefaultReadyTimeout = 30 * time.Second

	// BackoffMin and BackoffMax bound the delay before restarting a crashed
	// worker: it doubles from BackoffMin up to BackoffMax (modd's numbers).
	BackoffMin = 500 * time.Millisecond
	BackoffMax = 8 * time.Second
	// BackoffReset is how long a worker must stay up for its crash backoff
	// to start again from BackoffMin.
	BackoffReset = 8 * time.Second

	// Debounce is the trailing quiet period after a file change before toil
	// dev builds; DebounceMaxWait caps it while changes keep coming.
	Debounce        = 75 * time.Millisecond
	DebounceMaxWait = 500 * time.Millisecond

	// DefaultConnectTimeout, DefaultReadTimeout, DefaultWriteTimeout and
	// DefaultIdleTimeout are the proxy's timeouts (nginx's
	// proxy_connect_timeout, proxy_read_timeout, proxy_send_timeout and
	// keepalive_timeout).
	DefaultConnectTimeout = 5 * time.Second
	DefaultReadTimeout    = 60 * time.Second
	DefaultWriteTimeout   = 60 * time.Second
	DefaultIdleTimeout    = 75 * time.Second
)

// Layout is a parsed, validated and defaulted toil.yaml.
type Layout struct {
	// File is the path the layout was read from, as given to [Parse] or
	// [Load]; messages name it.
	File string
	// Dir is the directory of File. Relative paths in the layout (main,
	// config, watch, unix sockets) are relative to it.
	Dir string

	// Name names the whole system (name:): the systemd target, the
	// Kubernetes app label. Lowercase letters, digits and '-'.
	Name string
	// Services are the services (services:), in the order of the file.
	Services []*Service
	// Proxy is the front proxy (proxy:), or nil when there is none.
	Proxy *Proxy
	// Backing are the backing systems (backing:), in the order of the file.
	Backing []*Backing
	// Env is given to every service's workers (env:); a service's own env
	// wins over it.
	Env Env
	// Lint is the lint: section, kept as written for the analyzers'
	// settings (analyzers.LoadSettings reads and validates it). Its Kind is
	// 0 when the file has no lint: section.
	Lint yaml.Node
}

// Service is one entry of services:, run as Procs identical workers.
type Service struct {
	// Name is the key under services: (lowercase letters, digits and '-',
	// as systemd units and Kubernetes objects need).
	Name string
	// Run is a toil service as PKG.NAME, as `toil run` takes it
	// (run: tempest.scorer). Exactly one of Run and Main is set.
	Run string
	// Main is a main package (main: ./cmd/legacy), a directory relative to
	// the layout's Dir starting with "./", or an import path. It is any Go
	// program; if it listens, it reads PORT.
	Main string
	// Args are command-line arguments given to every worker (args:).
	Args []string
	// Procs is the number of workers (procs:, default [DefaultProcs]).
	Procs int
	// Listen is where the service is reached (listen:). For a Run service
	// toil binds it once and every worker inherits the socket (LISTEN_FDS);
	// for a Main service each worker gets a port of its own in PORT and the
	// supervisor forwards Listen to them. Zero when it listens nowhere.
	Listen Listen
	// Env is this service's environment (env:), over the layout's Env.
	Env Env
	// Config are files the service reads (config:), relative to Dir: a
	// change sends SIGHUP to its workers instead of restarting them, and
	// exports ship them (a ConfigMap).
	Config []string
	// Watch are extra globs, relative to Dir, whose changes rebuild and
	// roll the service (watch:), for files the Go build does not see
	// (templates read at run time). "**" matches any number of directories.
	Watch []string
	// Depends are the services and backing systems started, and ready,
	// before this one (depends:).
	Depends []string
	// StopTimeout is the time between SIGTERM and SIGKILL (stop_timeout:,
	// default [DefaultStopTimeout]).
	StopTimeout time.Duration
	// ReadyTimeout is how long a new worker has to become ready before a
	// rollout abandons it (ready_timeout:, default [DefaultReadyTimeout]).
	ReadyTimeout time.Duration
	// Pos is where the service's name is in the file, for messages.
	Pos Pos
}

// Toil reports whether the service is a toil service (run:), which speaks
// the whole worker protocol (sd_notify readiness, inherited sockets, the
// admin port's /healthz and /readyz), rather than a plain main package.
func (s *Service) Toil() bool { return s.Run != "" }

// Listen is a listening address in a layout.
type Listen struct {
	// Network is "tcp" or "unix", or "" when there is no address (not set,
	// or Auto).
	Network string
	// Addr is "host:port" for tcp (host "" is every interface) or a socket
	// path for unix, relative to the layout's Dir unless absolute.
	Addr string
	// Auto is listen: auto: a free loopback port picked when the
	// supervisor starts, for services reached only through the proxy.
	Auto bool
}

// IsZero reports whether there is no address at all: the service listens
// nowhere.
func (l Listen) IsZero() bool { return l == Listen{} }

// String is the address as written in toil.yaml: "127.0.0.1:8081",
// "unix:run/web.sock", "auto", or "" for none.
func (l Listen) String() string {
	switch {
	case l.Auto:
		return "auto"
	case l.Network == "unix":
		return "unix:" + l.Addr
	default:
		return l.Addr
	}
}

// Port is the TCP port, or 0 for a unix socket, auto or none.
func (l Listen) Port() int {
	if l.Network != "tcp" {
		return 0
	}
	_, p, err := net.SplitHostPort(l.Addr)
	if err != nil {
		return 0
	}
	n, _ := strconv.Atoi(p)
	return n
}

// Host is the TCP host ("" for every interface), or "" when not tcp.
func (l Listen) Host() string {
	if l.Network != "tcp" {
		return ""
	}
	h, _, _ := net.SplitHostPort(l.Addr)
	return h
}

// Proxy is the front proxy (the nginx role): one listening address, routes
// by path prefix to services.
type Proxy struct {
	// Listen is where the proxy listens (listen:, required; not auto).
	Listen Listen
	// Routes are in the order of the file; a request goes to the route with
	// the longest matching path.
	Routes []Route
	// ConnectTimeout bounds connecting to a worker (connect_timeout:).
	ConnectTimeout time.Duration
	// ReadTimeout bounds the wait between two reads from a worker's
	// response (read_timeout:); a stream quiet for longer is cut, as nginx's
	// proxy_read_timeout does.
	ReadTimeout time.Duration
	// WriteTimeout bounds the wait between two writes of the request to the
	// worker (write_timeout:, nginx's proxy_send_timeout).
	WriteTimeout time.Duration
	// IdleTimeout is how long an idle client keep-alive connection stays
	// open (idle_timeout:).
	IdleTimeout time.Duration
	// Pos is where proxy: is in the file.
	Pos Pos
}

// Route sends requests whose path is under Path to a service.
type Route struct {
	// Path is a path prefix matched on whole segments: "/api" matches /api
	// and /api/users, not /apix. It starts with "/" and has no trailing
	// slash except the root "/".
	Path string
	// To is the service's name; the service has a listen address.
	To string
	// StripPrefix removes Path from the request before forwarding
	// (strip_prefix: true): /api/users reaches the service as /users.
	StripPrefix bool
	// Pos is where the route is in the file.
	Pos Pos
}

// Matches reports whether the request path p falls under the route.
func (r Route) Matches(p string) bool {
	if r.Path == "/" {
		return strings.HasPrefix(p, "/")
	}
	return p == r.Path || strings.HasPrefix(p, r.Path+"/")
}

// Backing is a backing system (backing:): started before the services,
// health-checked, stopped after them. Exactly one of Embedded and Cmd is
// set.
type Backing struct {
	// Name is the key under backing:.
	Name string
	// Kind is what the system is: one of [Kinds], or "" for a command toil
	// knows nothing about. It picks the default Env and what Fallback
	// embeds. Set by kind:, embedded:, or the backing's name when that is
	// a kind (a backing called redis is kind redis).
	Kind string
	// Embedded is the kind of server run inside toil's process (embedded:
	// nats or redis); one of [EmbeddedKinds].
	Embedded string
	// Cmd is a command line with a {port} placeholder (cmd:), run without a
	// shell: words split on spaces, with '...' and "..." quoting.
	Cmd string
	// Fallback is "embedded" when the embedded server of Kind runs if
	// Cmd's program is not installed, or "" (fallback:).
	Fallback string
	// Port is the port it listens on (port:), or 0 for a free port picked
	// at start.
	Port int
	// Env are the variables given to every service's workers, with {port}
	// standing for the port (env:). Defaults by Kind: REDIS_URL, NATS_URL,
	// KAFKA_BROKERS, DATABASE_URL.
	Env Env
	// Ready is how toil knows a Cmd backing is up (ready:); embedded
	// servers report it themselves.
	Ready Probe
	// StopTimeout is the time between SIGTERM and SIGKILL for Cmd
	// (stop_timeout:, default [DefaultStopTimeout]).
	StopTimeout time.Duration
	// Pos is where the backing's name is in the file.
	Pos Pos
}

// Command is Cmd split into words, with {port} replaced by port.
func (b *Backing) Command(port int) []string { return expandWords(b.Cmd, port) }

// Environ is Env with {port} replaced by port.
func (b *Backing) Environ(port int) Env {
	out := make(Env, len(b.Env))
	for k, v := range b.Env {
		out[k] = strings.ReplaceAll(v, portPlaceholder, strconv.Itoa(port))
	}
	return out
}

// Probe is a readiness check for a backing command. At most one of TCP,
// HTTP and Cmd is set; all zero means none (embedded servers).
type Probe struct {
	// TCP: ready once a connection to the port succeeds (tcp: true, the
	// default for a command).
	TCP bool
	// HTTP is a path, or a URL with {port}, that answers 2xx when ready
	// (http: /healthz).
	HTTP string
	// Cmd is a command line, with {port}, that exits 0 when ready
	// (cmd: "redis-cli -p {port} ping").
	Cmd string
	// Timeout is how long to wait (timeout:, default [DefaultReadyTimeout]).
	Timeout time.Duration
}

// Command is Cmd split into words, with {port} replaced by port.
func (p Probe) Command(port int) []string { return expandWords(p.Cmd, port) }

// URL is the HTTP probe's URL for port: a path is asked of 127.0.0.1.
func (p Probe) URL(port int) string {
	u := strings.ReplaceAll(p.HTTP, portPlaceholder, strconv.Itoa(port))
	if strings.HasPrefix(u, "/") {
		return "http://127.0.0.1:" + strconv.Itoa(port) + u
	}
	return u
}

// Kinds are the backing kinds toil knows, with the variables each gives the
// services by default.
var Kinds = []string{"kafka", "nats", "postgres", "redis"}

// EmbeddedKinds are the kinds toil can run in its own process.
var EmbeddedKinds = []string{"nats", "redis"}

// kindEnv is each kind's default Env.
var kindEnv = map[string]Env{
	"kafka":    {"KAFKA_BROKERS": "127.0.0.1:{port}"},
	"nats":     {"NATS_URL": "nats://127.0.0.1:{port}"},
	"postgres": {"DATABASE_URL": "postgres://127.0.0.1:{port}/postgres?sslmode=disable"},
	"redis":    {"REDIS_URL": "redis://127.0.0.1:{port}"},
}

// Pos is a position in toil.yaml, 1-based.
type Pos struct{ Line, Col int }

// Env is a set of environment variables.
type Env map[string]string

// Keys are the variable names, sorted.
func (e Env) Keys() []string { return slices.Sorted(maps.Keys(e)) }

// Environ is the variables as NAME=value, sorted by name, as exec.Cmd
// takes them.
func (e Env) Environ() []string {
	out := make([]string, 0, len(e))
	for _, k := range e.Keys() {
		out = append(out, k+"="+e[k])
	}
	return out
}

// Service returns the service called name, or nil.
func (l *Layout) Service(name string) *Service {
	for _, s := range l.Services {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// BackingNamed returns the backing system called name, or nil.
func (l *Layout) BackingNamed(name string) *Backing {
	for _, b := range l.Backing {
		if b.Name == name {
			return b
		}
	}
	return nil
}

// ServiceEnv is the environment the layout gives s's workers: the layout's
// Env, then the service's own Env over it. Backing systems' variables
// (known only once they run) go under both: see [Layout.Environ].
func (l *Layout) ServiceEnv(s *Service) Env {
	out := make(Env, len(l.Env)+len(s.Env))
	maps.Copy(out, l.Env)
	maps.Copy(out, s.Env)
	return out
}

// Environ is s's workers' environment from the layout, sorted NAME=value:
// backing's variables (the running backing systems' [Backing.Environ]),
// then the layout's Env, then the service's. What the file says explicitly
// wins, so env: REDIS_URL points a service at a shared Redis even with a
// local one declared.
func (l *Layout) Environ(s *Service, backing Env) []string {
	out := make(Env, len(backing))
	maps.Copy(out, backing)
	maps.Copy(out, l.ServiceEnv(s))
	return out.Environ()
}

// StartOrder is the services in the order to start them: each after those
// it depends on, otherwise in the order of the file. (Backing systems start
// before every service.)
func (l *Layout) StartOrder() []*Service {
	out := make([]*Service, 0, len(l.Services))
	done := make(map[string]bool)
	var visit func(s *Service)
	visit = func(s *Service) {
		if done[s.Name] {
			return
		}
		done[s.Name] = true // set first: a cycle (rejected by Parse) must not loop
		for _, d := range s.Depends {
			if dep := l.Service(d); dep != nil {
				visit(dep)
			}
		}
		out = append(out, s)
	}
	for _, s := range l.Services {
		visit(s)
	}
	return out
}

// Path resolves a path from the layout (main, config, watch, a unix socket)
// against the layout's Dir.
func (l *Layout) Path(p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(l.Dir, filepath.FromSlash(p))
}

// Default fills in every unset value with its default. [Parse] calls it;
// call it on a Layout built in Go. It is idempotent.
func (l *Layout) Default() {
	if l.Env == nil {
		l.Env = Env{}
	}
	for _, s := range l.Services {
		if s.Procs == 0 {
			s.Procs = DefaultProcs
		}
		if s.StopTimeout == 0 {
			s.StopTimeout = DefaultStopTimeout
		}
		if s.ReadyTimeout == 0 {
			s.ReadyTimeout = DefaultReadyTimeout
		}
		if s.Env == nil {
			s.Env = Env{}
		}
	}
	if p := l.Proxy; p != nil {
		if p.ConnectTimeout == 0 {
			p.ConnectTimeout = DefaultConnectTimeout
		}
		if p.ReadTimeout == 0 {
			p.ReadTimeout = DefaultReadTimeout
		}
		if p.WriteTimeout == 0 {
			p.WriteTimeout = DefaultWriteTimeout
		}
		if p.IdleTimeout == 0 {
			p.IdleTimeout = DefaultIdleTimeout
		}
	}
	for _, b := range l.Backing {
		if b.Kind == "" {
			switch {
			case b.Embedded != "":
				b.Kind = b.Embedded
			case slices.Contains(Kinds, b.Name):
				b.Kind = b.Name
			}
		}
		if b.Env == nil {
			b.Env = maps.Clone(kindEnv[b.Kind])
			if b.Env == nil {
				b.Env = Env{}
			}
		}
		if b.StopTimeout == 0 {
			b.StopTimeout = DefaultStopTimeout
		}
		if b.Cmd != "" && !b.Ready.TCP && b.Ready.HTTP == "" && b.Ready.Cmd == "" {
			b.Ready.TCP = true
		}
		if b.Cmd != "" && b.Ready.Timeout == 0 {
			b.Ready.Timeout = DefaultReadyTimeout
		}
	}
}

// Load reads, validates and defaults the layout at path. Problems in the
// file come back as [Errors].
func Load(path string) (*Layout, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load layout: %w", err)
	}
	return Parse(path, data)
}

// Find returns the path of the toil.yaml for dir: in dir or the nearest
// parent, stopping at the module root (the directory with go.mod) or the
// filesystem root. When there is none the error wraps fs.ErrNotExist and
// says where it looked.
func Find(dir string) (string, error) {
	start, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("find %s from %s: %w", FileName, dir, err)
	}
	for d := start; ; {
		p := filepath.Join(d, FileName)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		} else if !errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("find %s: %w", FileName, err)
		}
		if alt := filepath.Join(d, "toil.yml"); fileExists(alt) {
			return "", fmt.Errorf("find %s: found %s; rename it to %s: %w", FileName, alt, FileName, fs.ErrNotExist)
		}
		if fileExists(filepath.Join(d, "go.mod")) {
			return "", fmt.Errorf("no %s in %s or above it up to the module root %s; create one (see toil's layout/README.md): %w", FileName, start, d, fs.ErrNotExist)
		}
		parent := filepath.Dir(d)
		if parent == d {
			return "", fmt.Errorf("no %s in %s or any directory above it; create one (see toil's layout/README.md): %w", FileName, start, fs.ErrNotExist)
		}
		d = parent
	}
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
