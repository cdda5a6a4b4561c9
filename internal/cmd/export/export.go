// Package export implements `toil export systemd|nginx|k8s|procfile`: the
// layout of toil.yaml as the files production engines run it from.
package export

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/toilhq/toil/export"
	"github.com/toilhq/toil/export/k8s"
	"github.com/toilhq/toil/internal/cmdutil"
	"github.com/toilhq/toil/layout"
)

// Options are the flags of `toil export TARGET`.
type Options struct {
	IO      *cmdutil.IOStreams
	Version string

	// Target is the export: systemd, nginx, k8s or procfile.
	Target string
	// Dir is where toil.yaml is looked for when File is ""; the working
	// directory when "".
	Dir string
	// File is toil.yaml's path (--file).
	File string
	// Out is the directory to write into (--out); standard output when "".
	Out string
	// BinDir is where the service binaries are in production (--bin-dir).
	BinDir string
	// Image is the container image (k8s --image).
	Image string
}

// targets are the subcommands, with their help.
var targets = []struct {
	name, short, long, example string
}{
	{"systemd", "systemd units: a socket per listening service, a template service per service, a target",
		`Write systemd units for toil.yaml's layout, speaking the same worker protocol
as toil dev: for each listening service a .socket unit that every worker
inherits, for each service a template unit NAME@.service (Type=notify,
TOIL_WORKER=%i, the stop timeout, Restart=on-failure), a <layout>.target that
wants every worker, and enable.sh, which installs and starts them.

With --out the files go into that directory (created or replaced, all at
once); without it they are printed one after the other.`,
		`  toil export systemd --out deploy/systemd
  toil export systemd --bin-dir /opt/shop/bin --out /tmp/units && sudo /tmp/units/enable.sh`},
	{"nginx", "an nginx config: an upstream per listening service, a location per proxy route",
		`Write an nginx config for the proxy of toil.yaml, for nginx's http {} block:
an upstream per listening service and a location per route, with the dev
proxy's timeouts and headers (Host kept, X-Forwarded-*, WebSocket upgrades),
so requests are routed the same as under toil dev.`,
		`  toil export nginx > /etc/nginx/conf.d/shop.conf
  toil export nginx --out deploy/nginx`},
	{"k8s", "Kubernetes manifests: Deployments, Services, an Ingress, ConfigMaps",
		`Write Kubernetes manifests for toil.yaml's layout: per service a Deployment
(replicas = procs, readiness on /readyz and liveness on /healthz of the admin
port, the stop timeout as the grace period, one extra pod at a time during a
rollout), a Service per listening service, an Ingress for the proxy routes
and a ConfigMap with each service's config files.`,
		`  toil export k8s --image registry.example.com/shop:v1.4.0 | kubectl apply -f -
  toil export k8s --out deploy/k8s`},
	{"procfile", "a Procfile: one line per service",
		`Write a Procfile (foreman, goreman, overmind, Heroku) with one line per
service; the worker counts are in comments, and in a foreman -m line.`,
		`  toil export procfile > Procfile
  toil export procfile --bin-dir ./bin`},
}

// NewCmdExport returns `toil export` with a subcommand per target.
func NewCmdExport(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "export <target>",
		Short: "Write toil.yaml's layout as systemd units, an nginx config, Kubernetes manifests or a Procfile",
		Long: `Write toil.yaml's layout as the files a production engine runs it from.

Every export is deterministic (the same toil.yaml gives the same bytes) and
names in a header comment the toil.yaml and toil version that produced it.
A layout the target cannot express (say a listen: auto service for nginx)
is an error naming the service, and nothing is written.`,
		Example: `  toil export systemd --out deploy/systemd
  toil export nginx > /etc/nginx/conf.d/shop.conf
  toil export k8s --image shop:v1 | kubectl apply -f -
  toil export procfile > Procfile`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return cmdutil.UsageErrorf("unknown export target %q; the targets are systemd, nginx, k8s and procfile", args[0])
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error { return cmd.Help() },
	}
	for _, t := range targets {
		cmd.AddCommand(newCmdTarget(f, t.name, nil))
	}
	return cmd
}

// newCmdTarget returns `toil export NAME`; runF replaces the logic in tests.
func newCmdTarget(f *cmdutil.Factory, name string, runF func(*Options) error) *cobra.Command {
	opts := &Options{IO: f.IO, Version: f.Version, Target: name}
	cmd := &cobra.Command{Use: name + " [flags]", Args: cmdutil.NoArgs}
	for _, t := range targets {
		if t.name == name {
			cmd.Short, cmd.Long, cmd.Example = t.short, t.long, t.example
		}
	}
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if runF != nil {
			return runF(opts)
		}
		return exportRun(opts)
	}
	cmd.Flags().StringVarP(&opts.File, "file", "f", "", "the toil.yaml to export (default: the nearest one from the working directory up)")
	cmd.Flags().StringVar(&opts.Out, "out", "", "write the files into this directory, replaced as a whole (default: standard output)")
	cmd.Flags().StringVar(&opts.BinDir, "bin-dir", export.DefaultBinDir, "where the service binaries (as toil build names them) are in production")
	if name == "k8s" {
		cmd.Flags().StringVar(&opts.Image, "image", "", "the container image holding the binaries (default: <layout name>:latest)")
	}
	return cmd
}

func exportRun(opts *Options) error {
	path := opts.File
	if path == "" {
		p, err := layout.Find(opts.Dir)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return cmdutil.UsageErrorf("%v\ntoil export writes out the layout of a toil.yaml; write one, or name it with --file", err)
			}
			return err
		}
		path = p
	} else if opts.Dir != "" && !filepath.IsAbs(path) {
		path = filepath.Join(opts.Dir, path)
	}
	l, err := layout.Load(path)
	if err != nil {
		var le layout.Errors
		if errors.As(err, &le) || errors.Is(err, fs.ErrNotExist) {
			return cmdutil.UsageErrorf("%v\ntoil export writes nothing until toil.yaml is valid", err)
		}
		return err
	}
	if opts.BinDir == "" {
		return cmdutil.UsageErrorf("--bin-dir is empty; give the directory holding the service binaries, such as %s", export.DefaultBinDir)
	}
	src := source(opts.Dir, path)
	o := export.Options{Source: src, Version: opts.Version, BinDir: opts.BinDir}
	var files []export.File
	switch opts.Target {
	case "systemd":
		files, err = export.Systemd(l, o)
	case "nginx":
		files, err = export.Nginx(l, o)
	case "k8s":
		files, err = k8s.Export(l, k8s.Options{Options: o, Image: opts.Image})
	case "procfile":
		files, err = export.Procfile(l, o)
	default:
		return cmdutil.UsageErrorf("unknown export target %q; the targets are systemd, nginx, k8s and procfile", opts.Target)
	}
	if err != nil {
		var ee *export.Error
		if errors.As(err, &ee) {
			return &cmdutil.ExitError{Code: cmdutil.ExitUsage, Err: fmt.Errorf("%s: %w\nnothing was written", src, err)}
		}
		return err
	}
	if opts.Out != "" {
		out := opts.Out
		if opts.Dir != "" && !filepath.IsAbs(out) {
			out = filepath.Join(opts.Dir, out)
		}
		if err := export.WriteDir(out, files); err != nil {
			return err
		}
		for _, f := range files {
			fmt.Fprintf(opts.IO.ErrOut, "wrote %s\n", filepath.Join(opts.Out, f.Name))
		}
		return nil
	}
	// Rendered whole before the first byte goes out, so a failed write is
	// the only partial output.
	var buf bytes.Buffer
	if err := export.WriteTo(&buf, files); err != nil {
		return err
	}
	_, err = opts.IO.Out.Write(buf.Bytes())
	return err
}

// source is toil.yaml's path for the header comment: relative to where toil
// runs, so the output does not depend on the machine's directories.
func source(dir, path string) string {
	base := dir
	if base == "" {
		wd, err := os.Getwd()
		if err != nil {
			return filepath.Base(path)
		}
		base = wd
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return filepath.Base(path)
	}
	rel, err := filepath.Rel(base, abs)
	if err != nil {
		return filepath.Base(path)
	}
	return filepath.ToSlash(rel)
}
