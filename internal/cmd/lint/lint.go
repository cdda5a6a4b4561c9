// Package lint implements `toil lint`.
package lint

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/toilhq/toil/analyzers"
	"github.com/toilhq/toil/internal/cmdutil"
	"github.com/toilhq/toil/lint"
)

// Formats are the values --format accepts.
var Formats = []string{"text", "json", "sarif", "checkstyle", "github"}

// Options are the flags and arguments of `toil lint`.
type Options struct {
	IO      *cmdutil.IOStreams
	Version string

	Patterns     []string
	Fix          bool
	Format       string
	Enable       []string
	Disable      []string
	Staged       bool
	NewFromRev   string
	NewFromPatch string
	Tags         []string
	// NoCache lints every package afresh and writes no findings cache.
	NoCache bool

	// Dir is where to run; empty means the current directory.
	Dir string
}

// NewCmdLint returns the `toil lint` command; runF replaces the logic in tests.
func NewCmdLint(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{IO: f.IO, Version: f.Version}
	cmd := &cobra.Command{
		Use:   "lint [packages]",
		Short: "Find leftover debug prints, dumps and debugger calls",
		Long: `Find leftover debug prints, dumps and debugger calls (fmt.Println in library
code, spew.Dump, runtime.Breakpoint, builtin println, ...).

Packages are directories (./..., ./pkg) or import paths in the current module;
the default is ./... . toil lint reads the sources only: it compiles and
downloads nothing, so it is fast on a cold machine.

Settings come from the lint: section of toil.yaml (found in this directory or
a parent, up to the module root); --enable and --disable override them.
Silence one finding with //toil:ignore RULE reason on or above its line.

Changed-lines modes report only lines that a change adds:
  --staged            what the next commit adds (the git index, not the working tree)
  --new-from-rev REV  what the working tree adds since REV
  --new-from-patch F  what the unified diff in F adds

Findings of unchanged packages are cached (in the user cache directory, or
$TOIL_LINT_CACHE); --no-cache or TOIL_LINT_CACHE=off lints everything afresh.

Exit status: 0 clean, 1 findings, 2 errors (bad flag or setting, no packages,
a package that does not parse: it is reported, and the rest still linted).

Rules: ` + ruleList(),
		Example: `  toil lint
  toil lint ./internal/...
  toil lint --staged
  toil lint --new-from-rev origin/main --format github
  toil lint --fix
  toil lint --format sarif > toil.sarif
  toil lint --enable logdebug --disable fmtprint`,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Patterns = args
			if !slices.Contains(Formats, opts.Format) {
				return cmdutil.UsageErrorf("--format %q is not a format; use one of %s", opts.Format, strings.Join(Formats, ", "))
			}
			if err := checkRules("--enable", opts.Enable); err != nil {
				return err
			}
			if err := checkRules("--disable", opts.Disable); err != nil {
				return err
			}
			for _, r := range opts.Enable {
				if slices.Contains(opts.Disable, r) {
					return cmdutil.UsageErrorf("rule %q is in both --enable and --disable; keep one", r)
				}
			}
			n := 0
			for _, on := range []bool{opts.Staged, opts.NewFromRev != "", opts.NewFromPatch != ""} {
				if on {
					n++
				}
			}
			if n > 1 {
				return cmdutil.UsageErrorf("--staged, --new-from-rev and --new-from-patch are exclusive; pick one")
			}
			if runF != nil {
				return runF(opts)
			}
			return lintRun(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.BoolVar(&opts.Fix, "fix", false, "apply suggested fixes (delete the call, and its import when unused); lists what it deleted, and writes every file or none")
	fl.StringVar(&opts.Format, "format", "text", "output format: "+strings.Join(Formats, ", "))
	fl.StringSliceVar(&opts.Enable, "enable", nil, "rules to turn on, comma-separated (overrides toil.yaml)")
	fl.StringSliceVar(&opts.Disable, "disable", nil, "rules to turn off, comma-separated (overrides toil.yaml)")
	fl.BoolVar(&opts.Staged, "staged", false, "lint what the next commit adds: the git index, only added lines")
	fl.StringVar(&opts.NewFromRev, "new-from-rev", "", "report only lines added since git revision `REV`")
	fl.StringVar(&opts.NewFromPatch, "new-from-patch", "", "report only lines the unified diff in `FILE` adds")
	fl.StringSliceVar(&opts.Tags, "tags", nil, "extra build tags, comma-separated (as go build -tags)")
	fl.BoolVar(&opts.NoCache, "no-cache", false, "neither read nor write the findings cache (as TOIL_LINT_CACHE=off)")
	return cmd
}

// ruleNames are every name --enable and --disable accept.
func ruleNames() []string {
	var names []string
	for _, r := range analyzers.Rules() {
		names = append(names, r.Name)
	}
	return names
}

func ruleList() string {
	var b strings.Builder
	for _, r := range analyzers.Rules() {
		state := "on"
		if !r.Default {
			state = "off"
		}
		fmt.Fprintf(&b, "\n  %-13s %-3s  %s", r.Name, state, r.Doc)
	}
	return b.String()
}

func checkRules(flag string, names []string) error {
	valid := ruleNames()
	for _, n := range names {
		if !slices.Contains(valid, n) {
			return cmdutil.UsageErrorf("%s: unknown rule %q; valid rules: %s", flag, n, strings.Join(valid, ", "))
		}
	}
	return nil
}

// settings merges toil.yaml's lint: section with the flags: a rule named
// by a flag takes the flag's side whatever the file says.
func settings(dir string, opts *Options) (analyzers.Settings, error) {
	s, path, err := analyzers.LoadSettings(dir)
	if err != nil {
		return s, cmdutil.UsageErrorf("%v", err)
	}
	_ = path
	s.Enable = slices.DeleteFunc(slices.Clone(s.Enable), func(r string) bool { return slices.Contains(opts.Disable, r) })
	s.Disable = slices.DeleteFunc(slices.Clone(s.Disable), func(r string) bool { return slices.Contains(opts.Enable, r) })
	for _, r := range opts.Enable {
		if !slices.Contains(s.Enable, r) {
			s.Enable = append(s.Enable, r)
		}
	}
	for _, r := range opts.Disable {
		if !slices.Contains(s.Disable, r) {
			s.Disable = append(s.Disable, r)
		}
	}
	return s, nil
}

func lintRun(ctx context.Context, opts *Options) error {
	if ctx == nil {
		ctx = context.Background()
	}
	dir := opts.Dir
	if dir == "" {
		wd, err := os.Getwd()
		if err != nil {
			return err
		}
		dir = wd
	}
	s, err := settings(dir, opts)
	if err != nil {
		return err
	}
	as, err := s.Analyzers()
	if err != nil {
		return cmdutil.UsageErrorf("%v", err)
	}
	if len(as) == 0 {
		return cmdutil.UsageErrorf("every rule is disabled; nothing to lint (check --disable and toil.yaml's lint: section)")
	}
	cache := "" // lint's default: $TOIL_LINT_CACHE, else the user cache directory
	if opts.NoCache {
		cache = lint.CacheOff
	}
	res, err := lint.Run(ctx, lint.Config{
		Dir:          dir,
		Patterns:     opts.Patterns,
		Analyzers:    as,
		Staged:       opts.Staged,
		NewFromRev:   opts.NewFromRev,
		NewFromPatch: opts.NewFromPatch,
		Fix:          opts.Fix,
		BuildTags:    opts.Tags,
		Cache:        cache,
	})
	if err != nil {
		return &cmdutil.ExitError{Code: cmdutil.ExitUsage, Err: err}
	}

	if res.ChangedMode && len(res.ChangedFiles) == 0 {
		what := "the patch adds no Go lines"
		switch {
		case opts.Staged:
			what = "no staged Go lines"
		case opts.NewFromRev != "":
			what = "no Go lines changed since " + opts.NewFromRev
		}
		fmt.Fprintf(opts.IO.ErrOut, "toil lint: %s; nothing to lint\n", what)
		if opts.Format != "text" {
			// Machines still get a well-formed, empty document.
			return write(opts, dir, res)
		}
		return nil
	}
	if err := write(opts, dir, res); err != nil {
		return err
	}
	rel := relTo(dir)
	if opts.Format != "text" {
		// Errors are in the document too, but a person reads stderr.
		for _, e := range res.Errors {
			fmt.Fprintf(opts.IO.ErrOut, "toil lint: %s\n", packageErrorText(rel, e))
		}
	}
	for _, ff := range res.FixFailures {
		fmt.Fprintf(opts.IO.ErrOut, "toil lint: not fixed: %s:%d: %s: %s\n", rel(ff.Finding.Pos.Filename), ff.Finding.Pos.Line, ff.Finding.Rule, ff.Reason)
	}
	// What --fix deleted, one line each: a deliberate print a rule took for
	// a leftover must not disappear unnoticed.
	for _, d := range res.Deleted {
		fmt.Fprintf(opts.IO.ErrOut, "toil lint: deleted %s:%d: %s: %s\n", rel(d.Finding.Pos.Filename), d.Finding.Pos.Line, d.Finding.Rule, d.Text)
	}
	if opts.Fix && len(res.Fixed) > 0 {
		fmt.Fprintf(opts.IO.ErrOut, "toil lint: fixed %s in %s\n", plural(len(res.Fixed), "finding"), plural(len(res.FixedFiles), "file"))
	}

	switch {
	case len(res.Errors) > 0:
		return &cmdutil.ExitError{Code: cmdutil.ExitUsage, Err: fmt.Errorf("%s could not be linted", plural(len(res.Errors), "package"))}
	case len(res.Findings) > 0:
		return cmdutil.ErrFindings
	case opts.Staged && len(res.Fixed) > 0:
		// The fixes are in the working tree; the commit would still carry
		// the leftovers until they are staged.
		return &cmdutil.ExitError{Code: cmdutil.ExitFailure, Err: errors.New("fixed in the working tree; review and `git add` the fixed files, then commit again")}
	}
	return nil
}

// relTo returns a function making absolute paths relative to dir when
// they are inside it, the way editors and CI expect them.
func relTo(dir string) func(string) string {
	return func(p string) string {
		if r, err := filepath.Rel(dir, p); err == nil && !strings.HasPrefix(r, "..") {
			return r
		}
		return p
	}
}

func packageErrorText(rel func(string) string, e *lint.PackageError) string {
	if e.Pos.IsValid() {
		// The syntax error carries its own file:line:col; say which package.
		msg := e.Err.Error()
		if strings.HasPrefix(msg, e.Pos.Filename) {
			msg = rel(e.Pos.Filename) + strings.TrimPrefix(msg, e.Pos.Filename)
			msg = strings.ReplaceAll(msg, "\n"+e.Pos.Filename, "\n"+rel(e.Pos.Filename))
		}
		return fmt.Sprintf("%s (package %s does not parse; fix it to lint it)", msg, e.ImportPath)
	}
	return fmt.Sprintf("%s: %v", rel(e.Dir), e.Err)
}

// message drops the " [rule]" suffix the analyzers add for go vet, whose
// output has no rule column; toil lint prints the rule itself.
func message(f lint.Finding) string {
	return strings.TrimSuffix(f.Message, " ["+f.Rule+"]")
}

func plural(n int, noun string) string {
	if n == 1 {
		return fmt.Sprintf("1 %s", noun)
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
