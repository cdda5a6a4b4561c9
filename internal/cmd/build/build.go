// Package build implements `toil build`: every service of toil.yaml as a
// reproducible binary, named as `toil export` and `toil up` expect them.
package build

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/toilhq/toil/devloop"
	devbuild "github.com/toilhq/toil/devloop/build"
	"github.com/toilhq/toil/export"
	"github.com/toilhq/toil/internal/cmdutil"
	"github.com/toilhq/toil/internal/runner"
	"github.com/toilhq/toil/layout"
)

// Options are the flags of `toil build`.
type Options struct {
	IO      *cmdutil.IOStreams
	Context context.Context

	// Dir is where toil.yaml is looked for; the working directory when "".
	Dir string
	// Out is where the binaries go (--out), relative to the working
	// directory; "bin" in toil.yaml's directory when "".
	Out string
	// Tags are go build -tags.
	Tags string
	// Version is stamped into toil.Version; by default `git describe
	// --tags --always --dirty`; --version "" stamps nothing.
	Version    string
	versionSet bool
}

// versionVar is the variable -X sets in every service binary.
const versionVar = "github.com/toilhq/toil.Version"

// describe names the commit of the repository dir is in, the way release
// versions are usually written (v1.2.3, v1.2.3-4-gabcdef, abcdef-dirty);
// "" outside a repository.
func describe(dir string) string {
	out, err := exec.Command("git", "-C", dir, "describe", "--tags", "--always", "--dirty").Output()
	if err != nil {
		return ""
	}
	v := strings.TrimSpace(string(out))
	if strings.ContainsAny(v, " \t'\"") {
		return ""
	}
	return v
}

// ReleaseFlags are the go build flags of a release build, after the
// builder's own: -trimpath drops this machine's paths, so the same source
// gives the same bytes anywhere; -buildvcs=auto stamps vcs.revision,
// vcs.time and vcs.modified into the build info when toil.yaml is in a
// repository (the builder turns it off for dev), which runtime/debug
// reads back. toil.Version is stamped on top of these (see describe).
var ReleaseFlags = []string{"-trimpath", "-buildvcs=auto"}

// NewCmdBuild returns the `toil build` command; runF replaces the logic in
// tests.
func NewCmdBuild(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{IO: f.IO}
	cmd := &cobra.Command{
		Use:   "build [--out DIR]",
		Short: "Build every service of toil.yaml into reproducible binaries",
		Long: `Build every service of toil.yaml, with one go build, into DIR (default: bin
beside toil.yaml), each named <layout>-<service>, the names toil up and
toil export use.

The binaries are reproducible: built with -trimpath, the same source gives
byte-identical binaries on any machine. In a git repository the commit, its
time and whether the tree was modified are stamped into each binary's build
info (go version -m BINARY shows them), and toil.Version is set to
'git describe --tags --always --dirty' (or --version).

Each binary is replaced by a rename: a running toil up keeps its workers on
the old one until 'toil up reload'.`,
		Example: `  toil build
  toil build --out /tmp/release && toil up --bin /tmp/release
  toil build && toil up reload`,
		Args: cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Context = cmd.Context()
			opts.versionSet = cmd.Flags().Changed("version")
			if runF != nil {
				return runF(opts)
			}
			return buildRun(opts)
		},
	}
	cmd.Flags().StringVarP(&opts.Out, "out", "o", "", "directory to write the binaries into (default: bin beside toil.yaml)")
	cmd.Flags().StringVar(&opts.Tags, "tags", "", "build tags, as go build -tags takes them")
	cmd.Flags().StringVar(&opts.Version, "version", "", "version to stamp into toil.Version (default: git describe --tags --always --dirty; \"\" for none)")
	return cmd
}

func buildRun(opts *Options) error {
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
	path, err := layout.Find(dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return &cmdutil.ExitError{Code: cmdutil.ExitUsage, Err: fmt.Errorf("%w\ntoil build builds the services of a toil.yaml; write one (see layout/README.md)", err)}
		}
		return err
	}
	lay, err := layout.Load(path)
	if err != nil {
		return &cmdutil.ExitError{Code: cmdutil.ExitUsage, Err: err}
	}
	mod, err := runner.FindModule(lay.Dir)
	if err != nil {
		return fmt.Errorf("find the Go module of %s: %w", path, err)
	}
	// toil dev's builder keeps its staging in the same .toil/dev: a
	// release build there at the same time would relink the binaries
	// toil dev compares against, and roll its workers for nothing.
	devSock := filepath.Join(mod.Root, filepath.FromSlash(devloop.DevDir), devloop.ControlSocket)
	if c, err := net.Dial("unix", devSock); err == nil {
		c.Close()
		return fmt.Errorf("toil dev runs in %s (its control socket %s answers), and toil build shares its build directory; stop toil dev first", mod.Root, devSock)
	}
	out := opts.Out
	if out == "" {
		out = lay.Path("bin")
	}
	flags := append([]string{}, ReleaseFlags...)
	if v := opts.Version; v != "" || !opts.versionSet {
		if v == "" {
			v = describe(lay.Dir)
		}
		if v != "" {
			flags = append(flags, "-ldflags=-X "+versionVar+"="+v)
		}
	}
	if opts.Tags != "" {
		flags = append(flags, "-tags="+opts.Tags)
	}
	b, err := devbuild.New(mod, lay, devbuild.Options{Flags: flags})
	if err != nil {
		return err
	}
	res, err := b.Build(ctx, devbuild.Reason{})
	if err != nil {
		return fmt.Errorf("build: %w", err)
	}
	if res.Failed() {
		var failed []string
		for _, s := range res.Services {
			if s.State == devbuild.Failed {
				failed = append(failed, s.Name)
				fmt.Fprintf(opts.IO.ErrOut, "%s:\n%s\n", s.Name, strings.TrimRight(s.Output, "\n"))
			}
		}
		return fmt.Errorf("build %s failed; nothing was written to %s", strings.Join(failed, ", "), out)
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return fmt.Errorf("create --out %s: %w", out, err)
	}
	bins := res.Binaries()
	for _, s := range lay.Services {
		dst := filepath.Join(out, export.BinaryName(lay, s))
		if err := install(bins[s.Name], dst); err != nil {
			return err
		}
		fmt.Fprintln(opts.IO.Out, dst)
	}
	return nil
}

// install copies src to dst through a temporary file and a rename, so a
// worker running dst keeps its binary and a reader never sees half of one.
func install(src, dst string) (err error) {
	in, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("open the built binary: %w", err)
	}
	defer in.Close()
	tmp, err := os.CreateTemp(filepath.Dir(dst), "."+filepath.Base(dst)+".*")
	if err != nil {
		return fmt.Errorf("write %s: %w", dst, err)
	}
	defer func() {
		if err != nil {
			os.Remove(tmp.Name())
		}
	}()
	if _, err := io.Copy(tmp, in); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", dst, err)
	}
	if err := tmp.Chmod(0o755); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", dst, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", dst, err)
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return fmt.Errorf("write %s: %w", dst, err)
	}
	return nil
}
