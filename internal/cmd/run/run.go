// Package run implements `toil run PKG.NAME`: find a service by name, build
// it (or reuse the cached build), and run one or more workers of it.
package run

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/toilhq/toil/devloop/supervise"
	"github.com/toilhq/toil/internal/cmdutil"
	"github.com/toilhq/toil/internal/runner"
)

// Options are the flags and arguments of `toil run`.
type Options struct {
	IO      *cmdutil.IOStreams
	Context context.Context

	Spec    string   // PKG.NAME
	Args    []string // after --, for the service
	Procs   int
	Verbose bool

	// CacheDir is toil's cache root; built binaries go under it.
	CacheDir func() (string, error)
}

// NewCmdRun returns the `toil run` command; runF replaces the logic in tests.
func NewCmdRun(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{IO: f.IO, CacheDir: defaultCacheDir}
	cmd := &cobra.Command{
		Use:   "run PKG.NAME [--procs N] [-- ARGS...]",
		Short: "Run a service by name: no main package, no registration",
		Long: `Run a service by name: no main package, no registration.

PKG is a package directory under the module root (hello, or a/b when nested;
a full import path works too) and NAME a service in it, matched regardless of
case. A service is an exported func(context.Context, *toil.S) error, or an
exported struct type embedding toil.Base[Config].

toil generates the main, builds it into its cache (nothing is written into
your tree) and runs it with TOIL_SERVICE, TOIL_WORKER and TOIL_ENV=dev set.
When a toil.yaml around the working directory runs the service, toil run
uses its name there (TOIL_SERVICE), so the service reads the same config
section as under toil dev; -v says so.
A second run with nothing changed starts the cached binary without running
the go command at all; -v says which happened.

With --procs N it runs N workers, their output prefixed per worker. Ctrl-C
stops them all: SIGTERM, 10s of grace, then SIGKILL; none outlives toil.
When toil.yaml gives the service a listen address, toil run opens it and
every worker shares that one socket, as under toil dev (unless PORT is set).`,
		Example: `  toil run hello.world
  toil run tempest.warmer --procs 16
  toil run internal/billing.invoicer -v
  toil run hello.world -- --greeting=hi`,
		RunE: func(cmd *cobra.Command, args []string) error {
			before, after := args, []string(nil)
			if dash := cmd.ArgsLenAtDash(); dash >= 0 {
				before, after = args[:dash], args[dash:]
			}
			switch {
			case len(before) == 0:
				return cmdutil.UsageErrorf("toil run needs the service to run, as PKG.NAME: toil run hello.world")
			case len(before) > 1:
				return cmdutil.UsageErrorf("unexpected argument %q: arguments for the service go after --, as in toil run %s -- %s",
					before[1], before[0], strings.Join(before[1:], " "))
			}
			if opts.Procs < 1 {
				return cmdutil.UsageErrorf("--procs must be at least 1, got %d", opts.Procs)
			}
			opts.Spec, opts.Args = before[0], after
			opts.Context = cmd.Context()
			if runF != nil {
				return runF(opts)
			}
			return runRun(opts)
		},
	}
	cmd.Flags().IntVarP(&opts.Procs, "procs", "p", 1, "number of workers to run")
	cmd.Flags().BoolVarP(&opts.Verbose, "verbose", "v", false, "say whether the binary was built or came from the cache")
	return cmd
}

func defaultCacheDir() (string, error) {
	dir, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("find a cache directory for built services (set XDG_CACHE_HOME or HOME): %w", err)
	}
	return filepath.Join(dir, "toil"), nil
}

func runRun(opts *Options) error {
	ctx := opts.Context
	if ctx == nil {
		ctx = context.Background()
	}
	spec, err := runner.ParseSpec(opts.Spec)
	if err != nil {
		return exitError(err)
	}
	cacheDir, err := opts.CacheDir()
	if err != nil {
		return err
	}
	cwd, err := os.Getwd()
	if err != nil {
		return fmt.Errorf("find the working directory: %w", err)
	}
	logf := func(format string, args ...any) {
		fmt.Fprintf(opts.IO.ErrOut, "toil: "+format+"\n", args...)
	}
	b := &runner.Builder{CacheDir: cacheDir, Dir: cwd, Env: os.Environ()}
	if opts.Verbose {
		b.Logf = logf
	}

	// Signals are ours from here on: during the build they cancel it, while
	// workers run they go to the supervisor.
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	bin, err := build(ctx, b, spec, sigs)
	if err != nil {
		return exitError(err)
	}

	as := serviceName(cwd, spec, bin.Service.Name, os.LookupEnv)
	name := as.name
	if as.note != "" && opts.Verbose {
		logf("%s: %s", bin.Service.Name, as.note)
	}
	listen := as.entry != nil && !as.entry.Listen.IsZero()
	if port := os.Getenv("PORT"); listen && port != "" {
		listen = false
		if opts.Verbose {
			logf("%s: PORT=%s is set, so it serves there, not at toil.yaml's %s", name, port, as.entry.Listen)
		}
	}
	var sock *supervise.Socket
	shimExe := ""
	if listen {
		// Where toil.yaml says it listens, one socket all its workers
		// share, as under toil dev; they start through the shim.
		if shimExe, err = os.Executable(); err != nil {
			return fmt.Errorf("find toil's executable for the worker shim: %w", err)
		}
		if sock, err = supervise.Bind(as.layout, as.entry); err != nil {
			return &cmdutil.ExitError{Code: cmdutil.ExitFailure, Err: fmt.Errorf("%s: %w", name, err)}
		}
		defer sock.Close()
		logf("%s listens on %s (toil.yaml)", name, sock.Addr)
	}
	env := os.Environ()
	if _, set := os.LookupEnv("TOIL_LOG_FORMAT"); !set && opts.Procs > 1 && opts.IO.IsStderrTTY() {
		// Workers write into pipes, so they would log JSON; a person is
		// reading, so ask for text, as a single worker on the terminal does.
		env = append(env, "TOIL_LOG_FORMAT=text")
	}
	ro := runner.RunOptions{
		Binary:        bin.Path,
		Service:       name,
		Procs:         opts.Procs,
		Args:          opts.Args,
		Env:           env,
		Stdin:         opts.IO.In,
		Stdout:        opts.IO.Out,
		Stderr:        opts.IO.ErrOut,
		ShareTerminal: opts.Procs == 1 && isTerminal(opts.IO.In),
		Prefix:        prefixer(opts.IO, name, opts.Procs),
		Signals:       sigs,
		Logf:          logf,
	}
	if sock != nil {
		ro.Socket, ro.SocketName, ro.Shim = sock.File, name, shimExe
	}
	err = runner.Run(ctx, ro)
	var we *runner.WorkerExit
	if errors.As(err, &we) {
		// One worker: its status passes through. It has said why itself,
		// unless a signal toil did not forward killed it.
		if we.Signal == 0 || we.Signal == syscall.SIGINT || we.Signal == syscall.SIGTERM {
			return &cmdutil.ExitError{Code: we.Code}
		}
		return &cmdutil.ExitError{Code: we.Code, Err: err}
	}
	if err != nil {
		return &cmdutil.ExitError{Code: cmdutil.ExitFailure, Err: err}
	}
	return nil
}

// build runs the builder with a context that a signal cancels.
func build(ctx context.Context, b *runner.Builder, spec runner.Spec, sigs <-chan os.Signal) (*runner.Binary, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan struct{})
	watched := make(chan struct{})
	interrupted := false
	go func() {
		defer close(watched)
		select {
		case <-sigs:
			interrupted = true
			cancel()
		case <-done:
		}
	}()
	bin, err := b.Binary(ctx, spec)
	close(done)
	<-watched
	if interrupted {
		// Even when the build won the race: Ctrl-C means do not start.
		return nil, &cmdutil.ExitError{Code: cmdutil.ExitFailure, Err: errors.New("interrupted while building")}
	}
	return bin, err
}

// exitError gives runner errors their exit codes: 2 for what the user asked
// wrongly, 1 for a failed build.
func exitError(err error) error {
	var ie *runner.InputError
	if errors.As(err, &ie) {
		return &cmdutil.ExitError{Code: cmdutil.ExitUsage, Err: err}
	}
	return err
}

func isTerminal(r any) bool {
	f, ok := r.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// palette cycles through colours that read on dark and light terminals.
var palette = []string{"6", "3", "2", "5", "4", "1", "14", "11", "10", "13", "12", "9"}

// prefixer returns the per-worker line prefix: "hello.world.2 | ", the
// names padded to one width, coloured on a terminal unless NO_COLOR is set.
func prefixer(io *cmdutil.IOStreams, service string, procs int) func(int) string {
	width := len(fmt.Sprintf("%s.%d", service, procs))
	var r *lipgloss.Renderer
	if io.ColorEnabled() {
		r = lipgloss.NewRenderer(io.Out)
		r.SetColorProfile(termenv.ANSI256)
	}
	return func(n int) string {
		name := fmt.Sprintf("%-*s", width, fmt.Sprintf("%s.%d", service, n))
		if r != nil {
			name = r.NewStyle().Foreground(lipgloss.Color(palette[(n-1)%len(palette)])).Render(name)
		}
		return name + " | "
	}
}
