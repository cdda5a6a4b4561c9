// Package toiltest runs toil services inside a test: in-process, on
// loopback addresses picked by the kernel, with config in a temp dir and the
// log in the test's output, stopped when the test ends.
//
//	func TestScorer(t *testing.T) {
//		t.Parallel()
//		svc := toiltest.Run(t, &tempest.Scorer{}, toiltest.Config("batch_size: 4"))
//		svc.WaitReady()
//		resp, err := http.Get(svc.URL("/score"))
//		...
//	}
package toiltest

import (
	"bytes"
	"context"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/toilhq/toil"
)

// Service is a service running in a test.
type Service struct {
	t       testing.TB
	name    string
	control *toil.Control
	cancel  context.CancelFunc
	config  string
	sw      *toil.Switches
	addr    string
	logs    *logBuffer
	seen    atomic.Bool // the test read the service's error
}

// Option configures Run.
type Option func(*settings)

type settings struct {
	name     string
	config   string
	env      []string
	args     []string
	switches *toil.Switches
	opts     []toil.Option
}

// Name sets the service name (default: derived from svc, as toil run
// names it: hello.World is "hello.world").
func Name(name string) Option { return func(s *settings) { s.name = name } }

// Config sets the service's section of the config file, in YAML, as it
// would appear under the service's name:
//
//	toiltest.Config("greeting: hi\nport: 8080")
func Config(yaml string) Option { return func(s *settings) { s.config = yaml } }

// Env adds an environment variable, "KEY=value". The service sees only
// these, never the test process's environment, so parallel tests do not
// interfere.
func Env(kv ...string) Option { return func(s *settings) { s.env = append(s.env, kv...) } }

// Args sets the service's command-line flags.
func Args(args ...string) Option { return func(s *settings) { s.args = args } }

// Switches gives the service sw (default: an empty set per service, from
// [Service.Switches]).
func Switches(sw *toil.Switches) Option { return func(s *settings) { s.switches = sw } }

// With passes toil.Run options through, e.g. toil.WithStopTimeout.
func With(opts ...toil.Option) Option { return func(s *settings) { s.opts = append(s.opts, opts...) } }

// Run starts svc (a toil.Func or a pointer to a struct embedding
// toil.Base) and returns at once; call WaitReady to wait for setup. The
// admin endpoints listen on 127.0.0.1:0; a service that serves HTTP gets a
// 127.0.0.1:0 socket of its own (see URL). The service is stopped, and its
// error reported, when the test ends.
func Run(t testing.TB, svc any, opts ...Option) *Service {
	t.Helper()
	var set settings
	for _, o := range opts {
		o(&set)
	}
	if set.name == "" {
		set.name = toil.ServiceName(svc)
	}
	if set.switches == nil {
		set.switches = toil.NewSwitches()
	}
	s := &Service{t: t, name: set.name, control: toil.NewControl(), sw: set.switches, logs: &logBuffer{t: t}}
	s.config = filepath.Join(t.TempDir(), "toil.config.yaml")
	s.writeConfig(set.config)

	env := append([]string{"TOIL_LOG_FORMAT=text", "LOG_LEVEL=debug"}, set.env...)
	runOpts := []toil.Option{
		toil.WithEnv(env...),
		toil.WithArgs(set.args...),
		toil.WithConfigFile(s.config),
		toil.WithAdminAddr("127.0.0.1:0"),
		toil.WithSwitches(set.switches),
		toil.WithLogOutput(s.logs),
		toil.WithControl(s.control),
		toil.WithStopTimeout(10 * time.Second),
	}
	if toil.ServesHTTP(svc) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("toiltest: listen for %s: %v", set.name, err)
		}
		s.addr = ln.Addr().String()
		runOpts = append(runOpts, toil.WithListener("http", ln))
	}
	runOpts = append(runOpts, set.opts...)

	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	go func() { _ = toil.Run(ctx, set.name, svc, runOpts...) }() // the error is read from control
	t.Cleanup(func() {
		s.cancel()
		// An error the test already read from Stop or Err is its own.
		if err := s.control.Err(); err != nil && !s.seen.Load() {
			t.Errorf("toiltest: %s stopped with: %v", set.name, err)
		}
		s.logs.close()
	})
	return s
}

// WaitReady blocks until the service is ready (setup done, READY=1); it
// fails the test if the service ends first.
func (s *Service) WaitReady() {
	s.t.Helper()
	select {
	case <-s.control.Ready():
	case <-s.control.Done():
		s.t.Fatalf("toiltest: %s ended before it was ready: %v", s.name, s.control.Err())
	}
}

// Done is closed when the service has returned.
func (s *Service) Done() <-chan struct{} { return s.control.Done() }

// Err waits for the service to return and returns its error.
func (s *Service) Err() error {
	s.seen.Store(true)
	return s.control.Err()
}

// Stop stops the service as SIGTERM would (drain, Stop hooks) and returns
// its error. Stopping twice is harmless. An error not read through Stop or
// Err fails the test when it ends.
func (s *Service) Stop() error {
	s.cancel()
	return s.Err()
}

// Reload reloads the config now, as SIGHUP does; it returns why the new
// config was rejected, if it was.
func (s *Service) Reload() error { return s.control.Reload(context.Background()) }

// SetConfig rewrites the service's section of the config file, as an
// editor would (a new file renamed over the old). The service reloads it on
// its own; use Reload to do it synchronously.
func (s *Service) SetConfig(yaml string) {
	s.t.Helper()
	s.writeConfig(yaml)
}

func (s *Service) writeConfig(yaml string) {
	var b strings.Builder
	b.WriteString(s.name + ":\n")
	for _, line := range strings.Split(yaml, "\n") {
		b.WriteString("  " + line + "\n")
	}
	tmp := s.config + ".tmp"
	if err := os.WriteFile(tmp, []byte(b.String()), 0o644); err != nil {
		s.t.Fatalf("toiltest: write config: %v", err)
	}
	if err := os.Rename(tmp, s.config); err != nil {
		s.t.Fatalf("toiltest: write config: %v", err)
	}
}

// ConfigFile is the path of the service's config file.
func (s *Service) ConfigFile() string { return s.config }

// AdminAddr is the admin listener's host:port.
func (s *Service) AdminAddr() string { return s.control.AdminAddr() }

// AdminURL is the URL of path on the admin listener, e.g. AdminURL("/metrics").
func (s *Service) AdminURL(path string) string { return "http://" + s.AdminAddr() + path }

// Addr is the host:port the service's HTTP handler is served on, "" if it
// serves none.
func (s *Service) Addr() string { return s.addr }

// URL is the URL of path on the service's HTTP handler.
func (s *Service) URL(path string) string { return "http://" + s.addr + path }

// Switches is the service's switch set, for toiltest.ForceSwitch.
func (s *Service) Switches() *toil.Switches { return s.sw }

// Logs returns everything the service has logged so far. The log also goes
// to the test's output.
func (s *Service) Logs() string { return s.logs.String() }

// logBuffer keeps the log and copies it to the test output until the test
// is over.
type logBuffer struct {
	t      testing.TB
	mu     sync.Mutex
	buf    bytes.Buffer
	closed bool
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Write(p)
	if !l.closed {
		// A line logged after the test ended would panic in t.Output.
		_, _ = io.Writer(l.t.Output()).Write(p)
	}
	return len(p), nil
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func (l *logBuffer) close() {
	l.mu.Lock()
	l.closed = true
	l.mu.Unlock()
}
