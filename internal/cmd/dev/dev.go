// Package dev implements `toil dev`: run every service of toil.yaml the
// way production runs them and reload on save (devloop), and its control
// commands `toil dev status`, `restart`, `scale` and `logs`, which talk to
// the running toil dev through its control socket.
package dev

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/toilhq/toil/devloop"
	"github.com/toilhq/toil/devloop/ui"
	"github.com/toilhq/toil/internal/cmdutil"
	"github.com/toilhq/toil/layout"
)

// Options are the flags of `toil dev`.
type Options struct {
	IO      *cmdutil.IOStreams
	Context context.Context

	// Dir is where toil.yaml is looked for; the working directory when "".
	Dir   string
	Race  bool
	Tags  string
	Debug bool
}

// NewCmdDev returns the `toil dev` command with its control subcommands;
// runF replaces the logic in tests.
func NewCmdDev(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{IO: f.IO}
	cmd := &cobra.Command{
		Use:   "dev [flags]",
		Short: "Run every service of toil.yaml as production does, reloaded on save",
		Long: `Run the whole system of toil.yaml on this machine the way production runs it,
and reload it on save without dropping a request.

toil dev starts the backing systems (embedded NATS, redis-server, your
commands), binds the proxy and every service's socket once, builds all
services with one go build, and starts their workers. Then, on every save:

  Go code       rebuilds; only the services whose binary changed are rolled,
                one worker at a time, each new worker ready before an old one
                stops. A failed build leaves the old workers serving: the
                errors are shown here and on the proxy's error page, and
                responses carry X-Toil-Stale until the build is fixed.
  config files  (a service's config:, toil.config.yaml) SIGHUP to the
                service's workers, which reload without restarting (their
                own watch of the file is off: each save applies once).
  toil.yaml     applied: services added, removed, scaled or rolled; an
                invalid file keeps the running layout.

The workers of a run: service share one socket, as in production: the
kernel hands each new connection to whichever worker accepts it first, and
the proxy keeps its connections to them open. So requests do not spread
evenly over the workers: one client's requests mostly stay on one worker,
and an idle worker may get few. To load every worker, use many concurrent
connections (a load tester, not one browser tab).

Ctrl-C stops everything: SIGTERM, each service's stop_timeout, then
SIGKILL. A second Ctrl-C kills at once. Nothing toil started outlives it.

While it runs, from another terminal:

  toil dev status            every service and worker; exit 1 if not healthy
  toil dev restart SERVICE   replace its workers one at a time
  toil dev scale SERVICE=N   run N workers of it
  toil dev logs SERVICE      its last lines of output (-f to follow)`,
		Example: `  toil dev
  toil dev --race
  toil dev status
  toil dev scale web=4
  toil dev logs web -f`,
		Args: cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Context = cmd.Context()
			if runF != nil {
				return runF(opts)
			}
			return devRun(opts)
		},
	}
	cmd.Flags().BoolVar(&opts.Race, "race", false, "build the services with the race detector")
	cmd.Flags().StringVar(&opts.Tags, "tags", "", "build tags, as go build -tags takes them")
	cmd.Flags().BoolVar(&opts.Debug, "debug", false, "keep DWARF and symbols in the binaries, for a debugger (a slower link)")
	cmd.AddCommand(
		NewCmdStatus(f, nil),
		NewCmdRestart(f, nil),
		NewCmdScale(f, nil),
		NewCmdLogs(f, nil),
	)
	return cmd
}

func devRun(opts *Options) error {
	ctx := opts.Context
	if ctx == nil {
		ctx = context.Background()
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	live := opts.IO.IsStdoutTTY()
	width := 0
	if f, ok := opts.IO.Out.(*os.File); ok && live {
		width, _, _ = term.GetSize(int(f.Fd()))
	}
	u := ui.New(opts.IO.Out, ui.Options{Color: opts.IO.ColorEnabled(), Live: live, Width: width})
	defer u.Close()

	// The first Ctrl-C (or SIGTERM) stops gracefully, a second kills.
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	kill := make(chan struct{})
	finished := make(chan struct{})
	sigDone := make(chan struct{})
	defer func() { close(finished); <-sigDone }()
	go func() {
		defer close(sigDone)
		select {
		case sig := <-sigs:
			u.Info("%s: stopping (again to kill at once)", sigName(sig))
			cancel()
		case <-finished:
			return
		}
		select {
		case <-sigs:
			u.Warn("killing the workers")
			close(kill)
		case <-finished:
		}
	}()

	env := os.Environ()
	if _, set := os.LookupEnv("TOIL_LOG_FORMAT"); !set && opts.IO.IsStdoutTTY() {
		// Workers write into pipes, so they would log JSON; a person reads.
		env = append(env, "TOIL_LOG_FORMAT=text")
	}
	var flags []string
	if opts.Race {
		flags = append(flags, "-race")
	}
	if opts.Tags != "" {
		flags = append(flags, "-tags="+opts.Tags)
	}
	err := devloop.Run(ctx, devloop.Options{
		Dir:        opts.Dir,
		UI:         u,
		Environ:    env,
		BuildFlags: flags,
		Debug:      opts.Debug,
		Kill:       kill,
	})
	if err == nil {
		u.Info("stopped")
	}
	return exitError(err)
}

// exitError gives what is wrong with toil.yaml the usage exit code.
func exitError(err error) error {
	var le layout.Errors
	switch {
	case err == nil:
		return nil
	case errors.As(err, &le):
		return &cmdutil.ExitError{Code: cmdutil.ExitUsage, Err: fmt.Errorf("%w\ntoil dev runs nothing until toil.yaml is valid", err)}
	case errors.Is(err, fs.ErrNotExist):
		return &cmdutil.ExitError{Code: cmdutil.ExitUsage, Err: fmt.Errorf("%w\ntoil dev runs the services of a toil.yaml; write one (see 'toil dev --help' and layout/README.md)", err)}
	}
	return err
}

func sigName(sig os.Signal) string {
	if sig == os.Interrupt {
		return "interrupt"
	}
	return sig.String()
}
