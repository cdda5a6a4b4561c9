// Package up implements `toil up`: the layout of toil.yaml run from the
// binaries `toil build` wrote, without watching or building (the
// single-machine production supervisor), and `toil up reload`, its chain
// reload onto new binaries.
package up

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/toilhq/toil/devloop"
	"github.com/toilhq/toil/devloop/ui"
	"github.com/toilhq/toil/internal/cmdutil"
	"github.com/toilhq/toil/layout"
)

// Options are the flags of `toil up`.
type Options struct {
	IO      *cmdutil.IOStreams
	Context context.Context

	// Dir is where toil.yaml is looked for; the working directory when "".
	Dir string
	// Bin is the directory of the binaries (--bin); bin beside toil.yaml
	// when "".
	Bin string
	// OnReady, when set, is called once every worker is ready: for tests.
	OnReady func(proxyAddr string)
}

// NewCmdUp returns the `toil up` command with `toil up reload`; runF
// replaces the logic in tests.
func NewCmdUp(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{IO: f.IO}
	cmd := &cobra.Command{
		Use:   "up [--bin DIR]",
		Short: "Run every service of toil.yaml from built binaries, as production",
		Long: `Run the layout of toil.yaml on this machine from the binaries toil build
wrote: backing systems, the proxy and every service's workers, with the same
supervisor and worker protocol as toil dev, TOIL_ENV=prod, and no watching or
building.

Signals:
  SIGTERM, SIGINT  stop everything: each worker gets SIGTERM, its service's
                   stop_timeout, then SIGKILL
  SIGHUP           re-read toil.yaml and apply what changed, then SIGHUP
                   every worker, which reloads its config

After toil build wrote new binaries, 'toil up reload' replaces every worker
one at a time, each only once its successor is ready (a chain reload): no
request is dropped.`,
		Example: `  toil build && toil up
  toil up --bin /opt/shop/bin
  toil build && toil up reload
  kill -HUP $(pidof toil)   # re-read toil.yaml and the services' config`,
		Args: cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Context = cmd.Context()
			if runF != nil {
				return runF(opts)
			}
			return upRun(opts)
		},
	}
	cmd.Flags().StringVar(&opts.Bin, "bin", "", "directory of the binaries toil build wrote (default: bin beside toil.yaml)")
	cmd.AddCommand(NewCmdReload(f, nil))
	return cmd
}

func upRun(opts *Options) error {
	ctx := opts.Context
	if ctx == nil {
		ctx = context.Background()
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	u := ui.New(opts.IO.Out, ui.Options{Color: opts.IO.ColorEnabled()})
	defer u.Close()

	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(sigs)
	hup := make(chan struct{}, 1)
	finished := make(chan struct{})
	sigDone := make(chan struct{})
	defer func() { close(finished); <-sigDone }()
	go func() {
		defer close(sigDone)
		for {
			select {
			case sig := <-sigs:
				if sig == syscall.SIGHUP {
					select {
					case hup <- struct{}{}:
					default: // one pending re-read covers both
					}
					continue
				}
				u.Info("%s: stopping", sig)
				cancel()
			case <-finished:
				return
			}
		}
	}()

	bin := opts.Bin
	if bin != "" {
		// --bin is relative to where toil runs, as toil build's --out is.
		abs, err := filepath.Abs(bin)
		if err != nil {
			return fmt.Errorf("--bin %s: %w", bin, err)
		}
		bin = abs
	}
	err := devloop.Up(ctx, devloop.UpOptions{
		Dir:     opts.Dir,
		BinDir:  bin,
		UI:      u,
		Hangup:  hup,
		OnReady: opts.OnReady,
	})
	if err == nil {
		u.Info("stopped")
	}
	var le layout.Errors
	switch {
	case errors.As(err, &le):
		return &cmdutil.ExitError{Code: cmdutil.ExitUsage, Err: fmt.Errorf("%w\ntoil up runs nothing until toil.yaml is valid", err)}
	case errors.Is(err, fs.ErrNotExist):
		return &cmdutil.ExitError{Code: cmdutil.ExitUsage, Err: fmt.Errorf("%w\ntoil up runs the services of a toil.yaml; write one (see layout/README.md)", err)}
	}
	return err
}

// ReloadOptions are the flags of `toil up reload`.
type ReloadOptions struct {
	IO      *cmdutil.IOStreams
	Context context.Context
	// Dir is where toil.yaml is looked for; the working directory when "".
	Dir string
}

// NewCmdReload returns `toil up reload`; runF replaces the logic in tests.
func NewCmdReload(f *cmdutil.Factory, runF func(*ReloadOptions) error) *cobra.Command {
	opts := &ReloadOptions{IO: f.IO}
	return &cobra.Command{
		Use:   "reload",
		Short: "Replace every worker of the running toil up, one at a time",
		Long: `Tell the toil up running for this toil.yaml to replace every worker, one at
a time, each only once its successor is ready (uWSGI's chain reload), e.g.
onto the binaries a new toil build wrote. It returns when every worker is
replaced; a successor that is not ready in time leaves the old workers
serving and is an error.`,
		Example: `  toil build && toil up reload`,
		Args:    cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Context = cmd.Context()
			if runF != nil {
				return runF(opts)
			}
			return reloadRun(opts)
		},
	}
}

func reloadRun(opts *ReloadOptions) error {
	ctx := opts.Context
	if ctx == nil {
		ctx = context.Background()
	}
	dir := opts.Dir
	if dir == "" {
		wd, err := os.Getwd()
		if err != nil {
			return fmt.Errorf("find the working directory: %w", err)
		}
		dir = wd
	}
	msg, err := devloop.UpReload(ctx, dir)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(opts.IO.Out, msg)
	return err
}
