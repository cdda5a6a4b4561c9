package newcmd

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/mod/modfile"

	"github.com/toilhq/toil/internal/cmdutil"
	"github.com/toilhq/toil/internal/runner"
	"github.com/toilhq/toil/scaffold"
	"github.com/toilhq/toil/templates"
)

// ServiceOptions are the flags and arguments of `toil new service`.
type ServiceOptions struct {
	IO      *cmdutil.IOStreams
	Context context.Context

	Target   string // PKG.NAME
	Template string
	Set      []string
	With     []string
	DryRun   bool
	Force    bool
	// Dir is where to look for the module (default: the working directory).
	Dir string

	// Source and Version find the toil a module that does not require it
	// yet gets, as for toil new.
	Source  func() string
	Version func() string
}

// NewCmdService returns `toil new service`; runF replaces the logic in tests.
func NewCmdService(f *cmdutil.Factory, runF func(*ServiceOptions) error) *cobra.Command {
	opts := &ServiceOptions{IO: f.IO, Source: scaffold.Source, Version: scaffold.Version}
	cmd := &cobra.Command{
		Use:   "service PKG.NAME [--template " + strings.ReplaceAll(templateList(), ", ", "|") + "] [--with redis,queue,sql]",
		Short: "Add a service to the module you are in: its package, test, toil.yaml entry and config",
		Long: `Add a service to the current module, from a template.

PKG is the package directory, relative to the module root (billing, or
internal/billing); NAME is the service, as toil run takes it: toil new
service billing.invoicer makes the type (or function) Invoicer in package
billing, and toil run billing.invoicer runs it. --set service=X names the
Go identifier otherwise.

A new directory gets the template's package; an existing directory of a
package of the same name gets its files beside the ones there, unless a
file or a top-level name would clash, which is refused. toil.yaml gets the
service's entry (and the backing systems --with needs), toil.config.yaml its
section; both keep their comments and order, and are created when missing.
go mod tidy then records what the new code imports.

--template, --with, --set and --dry-run work as for toil new; --force
writes only the package files that are not there and reports the others
as identical or conflict, never overwriting one (toil.yaml and
toil.config.yaml are edited either way). Nothing is written when the input
is bad.`,
		Example: `  toil new service billing.invoicer
  toil new service internal/jobs.mailer --template consumer --with sql
  toil new service web.api --with redis --dry-run`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return cmdutil.UsageErrorf("toil new service takes one PKG.NAME, e.g. toil new service billing.invoicer; got %d arguments", len(args))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := emptyFlags(cmd, map[string]string{
				"template": "choose one of " + templateList() + ", or leave it out for " + templates.All[0].Name,
			}); err != nil {
				return err
			}
			opts.Target = args[0]
			opts.Context = cmd.Context()
			if runF != nil {
				return runF(opts)
			}
			return runService(opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&opts.Template, "template", "t", templates.All[0].Name, "template: "+templateList())
	fl.StringArrayVar(&opts.Set, "set", nil, "set a template variable, `key=value` (repeatable): service")
	fl.StringArrayVar(&opts.With, "with", nil, "add mixin fields, a comma list (repeatable): "+mixinList())
	fl.BoolVarP(&opts.DryRun, "dry-run", "n", false, "print what would be written, write nothing")
	fl.BoolVarP(&opts.Force, "force", "f", false, "leave the package's files that are there as they are (identical or conflict) instead of refusing")
	return cmd
}

func runService(opts *ServiceOptions) error {
	ctx := opts.Context
	if ctx == nil {
		ctx = context.Background()
	}
	i := strings.LastIndexByte(opts.Target, '.')
	if i <= 0 || i == len(opts.Target)-1 || strings.Contains(opts.Target[i+1:], "/") {
		return cmdutil.UsageErrorf("%q is not PKG.NAME: name the package directory and the service, e.g. toil new service billing.invoicer", opts.Target)
	}
	pkg, name := opts.Target[:i], opts.Target[i+1:]
	vars, err := parseSet(opts.Set)
	if err != nil {
		return err
	}
	dir := opts.Dir
	if dir == "" {
		wd, err := os.Getwd()
		if err != nil {
			return err
		}
		dir = wd
	}
	mod, err := runner.FindModule(dir)
	if err != nil {
		var ie *runner.InputError
		if errors.As(err, &ie) {
			return cmdutil.UsageErrorf("toil new service adds a service to a Go module, and %s is not in one (no go.mod here or above): run it inside a module, or make one with toil new NAME", dir)
		}
		return err
	}
	files, err := scaffold.AddService(scaffold.ServiceSpec{Root: mod.Root, Module: mod.Path, Pkg: pkg, Name: name,
		Template: opts.Template, Vars: vars, With: opts.With, Force: opts.Force})
	if err != nil {
		return inputError(err)
	}
	var plan []scaffold.Entry
	for _, f := range files {
		e := scaffold.Entry{Path: f.Path, Action: scaffold.Create}
		have, err := os.ReadFile(filepath.Join(mod.Root, filepath.FromSlash(f.Path)))
		switch {
		case err == nil && bytes.Equal(have, f.Data):
			e.Action = scaffold.Identical
		case err == nil && (f.Path == scaffold.LayoutFile || f.Path == scaffold.ConfigFile):
			e.Action = scaffold.Update
		case err == nil:
			e.Action = scaffold.Conflict // with --force; AddService refuses it otherwise
		}
		plan = append(plan, e)
	}
	head := fmt.Sprintf("toil new service %s (template %s) in module %s", opts.Target, opts.Template, mod.Path)
	if opts.DryRun {
		fmt.Fprintf(opts.IO.Out, "%s: dry run, nothing written\n", head)
		printTree(opts.IO, displayRoot(dir, mod.Root), plan)
		return nil
	}
	if err := scaffold.WriteService(mod.Root, files, plan); err != nil {
		return err
	}
	fmt.Fprintf(opts.IO.Out, "%s\n", head)
	printTree(opts.IO, displayRoot(dir, mod.Root), plan)
	if err := requireToil(ctx, opts, mod.Root); err != nil {
		return err
	}
	if err := goModTidy(ctx, mod.Root); err != nil {
		fmt.Fprintf(opts.IO.Out, "go mod tidy failed, so the new imports are not in go.mod yet: %v\n", err)
	}
	fmt.Fprintf(opts.IO.Out, "\nnext:\n%s  go test ./%s/... && toil lint ./...\n", howToRun(pkg+"."+strings.ToLower(serviceIdent(name, vars)), opts.With), pkg)
	return nil
}

func serviceIdent(name string, vars map[string]string) string {
	if s := vars["service"]; s != "" {
		return s
	}
	return name
}

func displayRoot(cwd, root string) string {
	if rel, err := filepath.Rel(cwd, root); err == nil && !strings.HasPrefix(rel, "..") {
		return rel
	}
	return root
}

// requireToil adds toil to a go.mod that does not require it yet, as toil
// new would: a replace to a checkout while toil is unpublished.
func requireToil(ctx context.Context, opts *ServiceOptions, root string) error {
	data, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		return err
	}
	mf, err := modfile.ParseLax("go.mod", data, nil)
	if err != nil {
		return fmt.Errorf("read %s: %w", filepath.Join(root, "go.mod"), err)
	}
	for _, r := range mf.Require {
		if r.Mod.Path == scaffold.ToilModule {
			return nil
		}
	}
	args := []string{"mod", "edit"}
	switch {
	case opts.Source() != "":
		args = append(args, "-require="+scaffold.ToilModule+"@v0.0.0", "-replace="+scaffold.ToilModule+"="+opts.Source())
	case opts.Version() != "":
		args = append(args, "-require="+scaffold.ToilModule+"@"+opts.Version())
	default:
		return cmdutil.UsageErrorf("go.mod does not require %s, and this toil cannot say which to require (a development build whose source is gone): go mod edit -require=%s@v0.0.0 -replace=%s=DIR, DIR a checkout of toil", scaffold.ToilModule, scaffold.ToilModule, scaffold.ToilModule)
	}
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	return nil
}

func goModTidy(ctx context.Context, root string) error {
	cmd := exec.CommandContext(ctx, "go", "mod", "tidy")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%w\n%s", err, strings.TrimSpace(string(out)))
	}
	return nil
}

// RunService is the command's logic, for runF in tests that change
// ServiceOptions first.
func RunService(opts *ServiceOptions) error { return runService(opts) }
