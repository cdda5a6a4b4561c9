package dev

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/toilhq/toil/devloop"
	"github.com/toilhq/toil/internal/cmdutil"
)

// ControlOptions are the inputs of the control commands: status, restart,
// scale and logs.
type ControlOptions struct {
	IO      *cmdutil.IOStreams
	Context context.Context
	// Connect finds the running toil dev; devloop.Connect in the working
	// directory by default.
	Connect func() (*devloop.Client, error)

	Service string
	Procs   int  // scale
	JSON    bool // status --json
	Lines   int  // logs -n
	Follow  bool // logs -f
}

func newControlOptions(f *cmdutil.Factory) *ControlOptions {
	return &ControlOptions{IO: f.IO, Connect: func() (*devloop.Client, error) { return devloop.Connect(".") }}
}

// NewCmdStatus returns `toil dev status`; runF replaces the logic in tests.
func NewCmdStatus(f *cmdutil.Factory, runF func(*ControlOptions) error) *cobra.Command {
	opts := newControlOptions(f)
	cmd := &cobra.Command{
		Use:   "status [--json]",
		Short: "Show the services and workers of the running toil dev",
		Long: `Show every service of the running toil dev: its workers, their state and
pid, where it listens, and whether it runs the newest source.

It shows the backing systems too: running, restarting (its command exited and
toil dev restarts it on the same port) or failed (its restart did not get
ready; toil dev tries again).

It exits 1 when something needs you: a build that failed (the previous build
serves), a new worker that did not start, a crashlooping worker, a backing
system that is not running, an invalid toil.yaml.`,
		Example: `  toil dev status
  toil dev status --json | jq '.services[].state'`,
		Args: cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Context = cmd.Context()
			if runF != nil {
				return runF(opts)
			}
			return statusRun(opts)
		},
	}
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print the status as JSON")
	return cmd
}

func statusRun(opts *ControlOptions) error {
	c, err := opts.Connect()
	if err != nil {
		return err
	}
	defer c.Close()
	r, err := c.Status(ctxOf(opts))
	if err != nil {
		return err
	}
	if opts.JSON {
		enc := json.NewEncoder(opts.IO.Out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(r); err != nil {
			return err
		}
	} else {
		printStatus(opts, r)
	}
	if !r.Healthy() {
		return cmdutil.ErrFindings
	}
	return nil
}

func printStatus(opts *ControlOptions, r *devloop.Report) {
	out := opts.IO.Out
	head := fmt.Sprintf("toil dev: %s (pid %d, %s)", r.Name, r.PID, r.Layout)
	if r.Proxy != "" {
		head += ", proxy on " + r.Proxy
	}
	fmt.Fprintln(out, head)
	if r.LayoutError != "" {
		fmt.Fprintf(out, "toil.yaml is invalid; the previous layout runs:\n%s\n", indent(r.LayoutError))
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	for _, s := range r.Services {
		fmt.Fprintf(tw, "%s\t%d/%d\t%s\t%s\n", s.Name, s.Ready, s.Total, s.State, s.Addr)
		for _, w := range s.Workers {
			var more []string
			if w.Restarts > 0 {
				more = append(more, plural(w.Restarts, "restart"))
			}
			if w.Error != "" {
				more = append(more, w.Error)
			}
			fmt.Fprintf(tw, "  %s\tpid %d\t%s\t%s\n", w.ID, w.PID, w.State, strings.Join(more, ": "))
		}
	}
	for _, b := range r.Backing {
		var more []string
		if b.Restarts > 0 {
			more = append(more, plural(b.Restarts, "restart"))
		}
		if b.Exited != "" {
			more = append(more, "last exited: "+b.Exited)
		}
		line := fmt.Sprintf("%s\t%s\t%s\t%s", b.Name, "backing", b.State, b.Addr)
		if len(more) > 0 {
			line += "\t" + strings.Join(more, ", ")
		}
		fmt.Fprintln(tw, line)
	}
	tw.Flush()
	for _, s := range r.Services {
		switch {
		case s.BuildError != "" && s.Binary == "" && len(s.Workers) == 0:
			// It never built: there is no previous build to serve.
			fmt.Fprintf(out, "%s is not running: it does not build:\n%s\n", s.Name, indent(s.BuildError))
		case s.BuildError != "":
			fmt.Fprintf(out, "%s does not build (the previous build serves):\n%s\n", s.Name, indent(s.BuildError))
		}
		if s.RollError != "" {
			fmt.Fprintf(out, "%s: the new build did not start (the previous build serves): %s\n", s.Name, s.RollError)
		}
		if s.Stale != "" && s.BuildError == "" {
			fmt.Fprintf(out, "%s is stale: %s\n", s.Name, s.Stale)
		}
	}
	for _, b := range r.Backing {
		switch b.State {
		case "restarting":
			fmt.Fprintf(out, "backing system %s exited (%s); toil dev restarts it on %s, and the services that use it fail meanwhile\n", b.Name, b.Exited, b.Addr)
		case "failed":
			fmt.Fprintf(out, "backing system %s exited (%s) and did not restart; toil dev tries again:\n%s\n", b.Name, b.Exited, indent(b.Error))
		}
	}
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

func indent(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return "    " + strings.Join(lines, "\n    ")
}

// NewCmdRestart returns `toil dev restart SERVICE`.
func NewCmdRestart(f *cmdutil.Factory, runF func(*ControlOptions) error) *cobra.Command {
	opts := newControlOptions(f)
	cmd := &cobra.Command{
		Use:   "restart SERVICE|BACKING",
		Short: "Replace a service's workers one at a time, or restart a backing system",
		Long: `Replace the workers of a service of the running toil dev one at a time, each
after its successor is ready, as a reload on save does. It returns once every
worker was replaced; if a new worker does not get ready, the old ones keep
serving and it exits 1.

Given a backing system run by a command (cmd: redis-server ...), it stops the
command and starts it again on the same port, and returns once it is ready.
toil dev also restarts such a command by itself when it exits. An embedded
system runs inside toil dev and cannot be restarted alone.`,
		Example: `  toil dev restart web
  toil dev restart redis`,
		Args: cmdutil.ExactArgs(1, "the service to restart (or a backing system), as in toil dev restart web"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Context, opts.Service = cmd.Context(), args[0]
			if runF != nil {
				return runF(opts)
			}
			return restartRun(opts)
		},
	}
	return cmd
}

func restartRun(opts *ControlOptions) error {
	return textCommand(opts, func(ctx context.Context, c *devloop.Client) (string, error) {
		return c.Restart(ctx, opts.Service)
	})
}

// NewCmdScale returns `toil dev scale SERVICE=N`.
func NewCmdScale(f *cmdutil.Factory, runF func(*ControlOptions) error) *cobra.Command {
	opts := newControlOptions(f)
	cmd := &cobra.Command{
		Use:   "scale SERVICE=N",
		Short: "Run N workers of a service",
		Long: `Run N workers of a service of the running toil dev: new workers start at once,
the highest-numbered ones stop. It lasts until toil dev restarts or toil.yaml
changes the service's procs.`,
		Example: `  toil dev scale web=4
  toil dev scale worker=1`,
		Args: cmdutil.ExactArgs(1, "SERVICE=N, as in toil dev scale web=4"),
		RunE: func(cmd *cobra.Command, args []string) error {
			name, n, ok := strings.Cut(args[0], "=")
			procs, err := strconv.Atoi(n)
			if !ok || name == "" || err != nil {
				return cmdutil.UsageErrorf("toil dev scale: want SERVICE=N, as in toil dev scale web=4, got %q", args[0])
			}
			if procs < 1 {
				return cmdutil.UsageErrorf("toil dev scale: %s needs at least 1 worker, got %d", name, procs)
			}
			opts.Context, opts.Service, opts.Procs = cmd.Context(), name, procs
			if runF != nil {
				return runF(opts)
			}
			return scaleRun(opts)
		},
	}
	return cmd
}

func scaleRun(opts *ControlOptions) error {
	return textCommand(opts, func(ctx context.Context, c *devloop.Client) (string, error) {
		return c.Scale(ctx, opts.Service, opts.Procs)
	})
}

// NewCmdLogs returns `toil dev logs SERVICE`.
func NewCmdLogs(f *cmdutil.Factory, runF func(*ControlOptions) error) *cobra.Command {
	opts := newControlOptions(f)
	cmd := &cobra.Command{
		Use:   "logs SERVICE [-f] [-n LINES]",
		Short: "Print the last lines of output of a service or backing system",
		Long: `Print the last lines the workers of a service wrote (toil dev keeps 1000 per
service), or those of a backing system; with -f, go on with new lines until
Ctrl-C or toil dev stops.`,
		Example: `  toil dev logs web
  toil dev logs web -f
  toil dev logs redis -n 20`,
		Args: cmdutil.ExactArgs(1, "the service, as in toil dev logs web"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.Lines < 0 {
				return cmdutil.UsageErrorf("-n must be 0 (all) or more, got %d", opts.Lines)
			}
			opts.Context, opts.Service = cmd.Context(), args[0]
			if runF != nil {
				return runF(opts)
			}
			return logsRun(opts)
		},
	}
	cmd.Flags().BoolVarP(&opts.Follow, "follow", "f", false, "go on printing new lines")
	cmd.Flags().IntVarP(&opts.Lines, "lines", "n", 100, "how many of the last lines to print (0: all toil dev kept)")
	return cmd
}

func logsRun(opts *ControlOptions) error {
	c, err := opts.Connect()
	if err != nil {
		return err
	}
	defer c.Close()
	ctx := ctxOf(opts)
	if opts.Follow {
		var stop context.CancelFunc
		ctx, stop = signal.NotifyContext(ctx, os.Interrupt)
		defer stop()
	}
	return controlError(c.Logs(ctx, opts.Service, opts.Lines, opts.Follow, opts.IO.Out))
}

func textCommand(opts *ControlOptions, f func(context.Context, *devloop.Client) (string, error)) error {
	c, err := opts.Connect()
	if err != nil {
		return err
	}
	defer c.Close()
	msg, err := f(ctxOf(opts), c)
	if err != nil {
		return controlError(err)
	}
	fmt.Fprintln(opts.IO.Out, msg)
	return nil
}

// controlError makes toil dev's refusals of a bad request (an unknown
// service, a bad count) usage errors.
func controlError(err error) error {
	var ce *devloop.ControlError
	if errors.As(err, &ce) && ce.Status/100 == 4 && ce.Status != 409 {
		return &cmdutil.ExitError{Code: cmdutil.ExitUsage, Err: err}
	}
	return err
}

func ctxOf(opts *ControlOptions) context.Context {
	if opts.Context != nil {
		return opts.Context
	}
	return context.Background()
}
