// Package newcmd implements `toil new NAME`: a new module with one service,
// from a template, that builds, tests and lints clean as generated.
package newcmd

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/charmbracelet/lipgloss"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	githooks "github.com/toilhq/toil/hooks"
	"github.com/toilhq/toil/internal/cmdutil"
	"github.com/toilhq/toil/scaffold"
	"github.com/toilhq/toil/templates"
)

// Options are the flags and arguments of `toil new`.
type Options struct {
	IO      *cmdutil.IOStreams
	Context context.Context

	Name       string
	Module     string
	Dir        string
	Template   string
	Set        []string // k=v
	With       []string // mixin names, each maybe a comma list
	DryRun     bool
	Force      bool
	NoGit      bool
	Yes        bool
	ToilSource string

	// Executable returns the running toil binary, which the pre-commit hook runs.
	Executable func() (string, error)
	// Source finds the toil checkout this binary was built from ("" if none).
	Source func() string
	// Version is the released toil version this binary is ("" if none).
	Version func() string
}

// NewCmdNew returns the `toil new` command; runF replaces the logic in tests.
func NewCmdNew(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{IO: f.IO, Executable: os.Executable, Source: scaffold.Source, Version: scaffold.Version}
	var tmplHelp strings.Builder
	for _, t := range templates.All {
		fmt.Fprintf(&tmplHelp, "  %-9s %s (service %s)\n", t.Name, t.Summary, t.Service)
	}
	var mixinHelp strings.Builder
	for _, m := range templates.Mixins {
		fmt.Fprintf(&mixinHelp, "  %-9s %s\n", m.Name, m.Summary)
	}
	cmd := &cobra.Command{
		Use:   "new NAME [--template " + strings.ReplaceAll(templateList(), ", ", "|") + "] [--with redis,queue,sql] [--module PATH] [--dir DIR]",
		Short: "Create a new module with one service that builds, tests and lints clean",
		Long: `Create a new module with one service, from a template. (toil new service
PKG.NAME adds a service to the module you are in; see toil new service
--help.)

NAME is the service's package, its directory and the system's name in
toil.yaml: lowercase letters and digits, starting with a letter. The module
goes into ./NAME (or --dir) and holds go.mod, the service and its test,
toil.yaml, a README, .gitignore, .pre-commit-config.yaml (toil lint), a CI
workflow (go test, toil lint) and .toil/template.yaml, which records the
template, its version and the variables.

Templates:
` + tmplHelp.String() + `
Mixins (--with a,b; repeatable): each adds a named field to the service's
struct, its section of toil.config.yaml, the backing system toil.yaml runs
for it in toil dev, and a test against a real server (toiltest.Redis,
toiltest.NATS, an SQLite file). The func template takes none: a function
has no fields.
` + mixinHelp.String() + `
Variables (--set k=v):
  service  the service's Go identifier; toil run NAME.<service> runs it

Nothing is written until the whole module is ready: it is generated into a
temp dir beside the target, go mod tidy runs there, and it is renamed into
place. A target that is not empty is refused; --force writes only the files
that are not there and reports each file as create, identical or conflict
(never overwritten, never deleted). --dry-run prints that report and writes
nothing.

Unless --no-git, or the target is inside a git repository already, the
module becomes a git repository with a first commit and toil's pre-commit
hook (toil lint --staged).

Until toil is published, a toil built from a source checkout writes a
replace of github.com/toilhq/toil to that checkout into go.mod, so the new
module builds; --toil-source DIR names another checkout.

toil new asks for a missing NAME only on a terminal; otherwise, and with
--yes, missing input is an error.`,
		Example: `  toil new billing --module example.com/team/billing   # then: cd billing && toil run billing.server
  toil new scorer --template worker --module example.com/ads/scorer
  toil new report --template func --dir services/report --no-git
  toil new billing --with redis,sql --set service=Invoicer --dry-run
  toil new jobs --template consumer --with queue   # consume one topic, publish to another
  toil new billing --force               # add what is missing to ./billing, overwrite nothing`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 1 {
				return cmdutil.UsageErrorf("toil new takes one NAME, got %d arguments (%s); see 'toil new --help'", len(args), strings.Join(args, " "))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := emptyFlags(cmd, map[string]string{
				"template":    "choose one of " + templateList() + ", or leave it out for " + templates.All[0].Name,
				"module":      "give a module path such as example.com/team/billing, or leave it out for NAME",
				"dir":         "give a directory, or leave it out for ./NAME",
				"toil-source": "give a checkout of toil, or leave it out for the one this toil was built from",
			}); err != nil {
				return err
			}
			if len(args) == 1 {
				opts.Name = args[0]
			}
			opts.Context = cmd.Context()
			if runF != nil {
				return runF(opts)
			}
			return runNew(opts)
		},
	}
	cmd.AddCommand(NewCmdService(f, nil))
	fl := cmd.Flags()
	fl.StringVar(&opts.Module, "module", "", "module path of the new module (default: NAME)")
	fl.StringVar(&opts.Dir, "dir", "", "directory to create the module in (default: ./NAME)")
	fl.StringVarP(&opts.Template, "template", "t", templates.All[0].Name, "template: "+templateList())
	fl.StringArrayVar(&opts.Set, "set", nil, "set a template variable, `key=value` (repeatable): service")
	fl.StringArrayVar(&opts.With, "with", nil, "add mixin fields, a comma list (repeatable): "+mixinList())
	fl.BoolVarP(&opts.DryRun, "dry-run", "n", false, "print what would be written, write nothing")
	fl.BoolVarP(&opts.Force, "force", "f", false, "write into a non-empty directory: only files that are not there")
	fl.BoolVar(&opts.NoGit, "no-git", false, "do not git init, commit or install the pre-commit hook")
	fl.BoolVarP(&opts.Yes, "yes", "y", false, "never prompt: missing input is an error")
	fl.StringVar(&opts.ToilSource, "toil-source", "", "a checkout of toil for go.mod to replace github.com/toilhq/toil with (default: the one this toil was built from)")
	return cmd
}

// emptyFlags refuses a flag of fix given as "": an empty value would
// otherwise mean the default, which is not what was typed. fix says what
// to give instead.
func emptyFlags(cmd *cobra.Command, fix map[string]string) error {
	var names []string
	for name := range fix {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if f := cmd.Flags().Lookup(name); f != nil && f.Changed && f.Value.String() == "" {
			return cmdutil.UsageErrorf("--%s is empty: %s", name, fix[name])
		}
	}
	return nil
}

func templateList() string {
	var names []string
	for _, t := range templates.All {
		names = append(names, t.Name)
	}
	return strings.Join(names, ", ")
}

func mixinList() string {
	var names []string
	for _, m := range templates.Mixins {
		names = append(names, m.Name)
	}
	return strings.Join(names, ", ")
}

func runNew(opts *Options) error {
	ctx := opts.Context
	if ctx == nil {
		ctx = context.Background()
	}
	if opts.Name == "" {
		if !canPrompt(opts) {
			return cmdutil.UsageErrorf("toil new needs a NAME when not running interactively: toil new NAME, e.g. toil new billing")
		}
		name, err := prompt(opts.IO, "Service name (lowercase letters and digits): ")
		if err != nil {
			return err
		}
		opts.Name = name
	}
	vars, err := parseSet(opts.Set)
	if err != nil {
		return err
	}
	spec := scaffold.Spec{Name: opts.Name, Module: opts.Module, Template: opts.Template, Vars: vars, With: opts.With}
	if err := resolveToil(opts, &spec); err != nil {
		return err
	}
	files, err := scaffold.Render(spec)
	if err != nil {
		return inputError(err)
	}
	if spec.Module == "" {
		spec.Module = spec.Name
	}
	dir := opts.Dir
	if dir == "" {
		dir = spec.Name
	}
	dir = filepath.Clean(dir)

	plan, err := scaffold.Plan(dir, files, opts.Force)
	if err != nil {
		return inputError(err)
	}
	if opts.DryRun {
		plan = append(plan, scaffold.Entry{Path: "go.sum", Action: scaffold.Create})
		fmt.Fprintf(opts.IO.Out, "toil new %s (template %s, module %s): dry run, nothing written\n", spec.Name, spec.Template, spec.Module)
		printTree(opts.IO, dir, plan)
		return nil
	}

	staged, err := scaffold.Stage(ctx, dir, files, true)
	if err != nil {
		return err
	}
	// From here the staged dir is Commit's to remove; on an earlier error, ours.
	committed := false
	defer func() {
		if !committed {
			os.RemoveAll(staged)
		}
	}()
	all, err := scaffold.Files(staged)
	if err != nil {
		return fmt.Errorf("read the staged module %s: %w", staged, err)
	}
	plan, err = scaffold.Plan(dir, all, opts.Force)
	if err != nil {
		return inputError(err)
	}
	fresh := true
	for _, e := range plan {
		fresh = fresh && e.Action == scaffold.Create
	}
	var notes []string
	if fresh && !opts.NoGit {
		inRepo, err := scaffold.InRepo(dir)
		if err != nil {
			return err
		}
		if inRepo {
			notes = append(notes, "inside a git repository already: no git init, no hook (commit the files yourself)")
		} else {
			if err := scaffold.InitRepo(staged, fmt.Sprintf("toil new %s (template %s)", spec.Name, spec.Template)); err != nil {
				return err
			}
			notes = append(notes, "git: initialised, first commit made")
			exe, err := opts.Executable()
			if err != nil {
				exe = ""
			}
			if _, err := githooks.Install(ctx, staged, exe); err != nil {
				notes = append(notes, fmt.Sprintf("pre-commit hook not installed: %v; run toil hooks install in %s", err, dir))
			} else {
				notes = append(notes, "pre-commit hook installed: toil lint --staged before each commit")
			}
		}
	}
	committed = true
	if err := scaffold.Commit(staged, dir, plan); err != nil {
		return err
	}

	fmt.Fprintf(opts.IO.Out, "toil new %s (template %s, module %s)\n", spec.Name, spec.Template, spec.Module)
	printTree(opts.IO, dir, plan)
	for _, n := range notes {
		fmt.Fprintf(opts.IO.Out, "%s\n", n)
	}
	conflicts := 0
	for _, e := range plan {
		if e.Action == scaffold.Conflict {
			conflicts++
		}
	}
	if conflicts > 0 {
		fmt.Fprintf(opts.IO.Out, "%d file(s) in conflict were left as they are: compare them with a fresh toil new --dir elsewhere\n", conflicts)
	}
	run := scaffold.RunName(spec.Name, serviceOf(spec))
	fmt.Fprintf(opts.IO.Out, "\nnext:\n  cd %s\n%s  go test ./... && toil lint ./...\n", dir, howToRun(run, opts.With))
	return nil
}

// howToRun is the next: lines that run the service. A --with field whose
// server toil.yaml runs as a backing needs toil dev, or that server's URL
// in the environment of toil run, which otherwise stops at its config.
func howToRun(run string, with []string) string {
	named := map[string]bool{}
	for _, w := range with {
		for _, name := range strings.Split(w, ",") {
			named[strings.TrimSpace(name)] = true
		}
	}
	// In the order of templates.Mixins, as toil.yaml and the README list them.
	var backing, env []string
	for _, m := range templates.Mixins {
		if named[m.Name] && m.Env != "" {
			backing, env = append(backing, m.BackingName), append(env, m.Env)
		}
	}
	if len(env) == 0 {
		return fmt.Sprintf("  toil run %s\n", run)
	}
	return fmt.Sprintf("  toil dev    # starts its backing %s (toil.yaml) and runs it\n  toil run %s    # alone: start %s yourself and set %s\n",
		strings.Join(backing, " and "), run, strings.Join(backing, " and "), strings.Join(env, " and "))
}

func serviceOf(spec scaffold.Spec) string {
	if s := spec.Vars["service"]; s != "" {
		return s
	}
	t, _ := templates.Lookup(spec.Template)
	return t.Service
}

// resolveToil decides how the new go.mod gets toil: a replace to a checkout
// (--toil-source, or the one this binary was built from), or the released
// version this binary is.
func resolveToil(opts *Options, spec *scaffold.Spec) error {
	if opts.ToilSource != "" {
		abs, err := filepath.Abs(opts.ToilSource)
		if err != nil {
			return err
		}
		if !scaffold.IsSource(abs) {
			return cmdutil.UsageErrorf("--toil-source %s is not a checkout of toil: it has no go.mod for module %s", opts.ToilSource, scaffold.ToilModule)
		}
		spec.ToilSource, spec.ToilVersion = abs, "v0.0.0"
		return nil
	}
	if src := opts.Source(); src != "" {
		spec.ToilSource, spec.ToilVersion = src, "v0.0.0"
		return nil
	}
	if v := opts.Version(); v != "" {
		spec.ToilVersion = v
		return nil
	}
	return cmdutil.UsageErrorf("this toil is a development build whose source is not at hand, so the new module could not require it: pass --toil-source DIR, a checkout of %s", scaffold.ToilModule)
}

func parseSet(set []string) (map[string]string, error) {
	vars := map[string]string{}
	for _, kv := range set {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, cmdutil.UsageErrorf("--set %q: want key=value, e.g. --set service=Billing", kv)
		}
		if old, dup := vars[k]; dup {
			return nil, cmdutil.UsageErrorf("--set %s is set twice (%s=%s, then %s=%s): give each key once", k, k, old, k, v)
		}
		vars[k] = v
	}
	return vars, nil
}

func inputError(err error) error {
	var ie *scaffold.InputError
	if errors.As(err, &ie) {
		return cmdutil.UsageErrorf("%s", ie.Msg)
	}
	return err
}

func canPrompt(opts *Options) bool {
	if opts.Yes || !opts.IO.IsStdoutTTY() {
		return false
	}
	f, ok := opts.IO.In.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

func prompt(ios *cmdutil.IOStreams, question string) (string, error) {
	fmt.Fprint(ios.Out, question)
	line, err := bufio.NewReader(ios.In).ReadString('\n')
	// A last line without a newline is an answer too.
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read the answer: %w", err)
	}
	return strings.TrimSpace(line), nil
}

// printTree prints the plan as a tree under dir, each file with its action.
func printTree(ios *cmdutil.IOStreams, dir string, plan []scaffold.Entry) {
	sort.Slice(plan, func(i, j int) bool { return plan[i].Path < plan[j].Path })
	style := map[scaffold.Action]lipgloss.Style{}
	if ios.ColorEnabled() {
		style[scaffold.Create] = lipgloss.NewStyle().Foreground(lipgloss.Color("2"))
		style[scaffold.Identical] = lipgloss.NewStyle().Faint(true)
		style[scaffold.Conflict] = lipgloss.NewStyle().Foreground(lipgloss.Color("1")).Bold(true)
	}
	fmt.Fprintf(ios.Out, "%s/\n", filepath.ToSlash(dir))
	shown := map[string]bool{}
	for _, e := range plan {
		parts := strings.Split(e.Path, "/")
		for i := range len(parts) - 1 {
			d := strings.Join(parts[:i+1], "/")
			if !shown[d] {
				shown[d] = true
				fmt.Fprintf(ios.Out, "%s%s/\n", strings.Repeat("  ", i+1), parts[i])
			}
		}
		name := strings.Repeat("  ", len(parts)) + parts[len(parts)-1]
		action := string(e.Action)
		if s, ok := style[e.Action]; ok {
			action = s.Render(action)
		}
		fmt.Fprintf(ios.Out, "%-40s %s\n", name, action)
	}
}

// Run is the command's logic, for runF in tests that change Options first.
func Run(opts *Options) error { return runNew(opts) }
