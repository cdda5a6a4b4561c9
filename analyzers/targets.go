package analyzers

import (
	"slices"

	"github.com/toilhq/toil/analyzers/internal/targets"
)

// Target is one function or method of the table the rules match calls
// against (by import path, receiver type and name, through type
// information). toil lint's engine reads it to stub exactly these objects
// and to skip packages that cannot call any of them.
type Target struct {
	Rule string // the rule that matches it
	Path string // import path of the declaring package
	Recv string // receiver's named type; "" for a package-level function
	Name string // function or method name
	// Never is set for string-returning and explicit-writer forms that are
	// listed only so that they are stubbed and dumpimport accepts them: no
	// call of them is ever a finding.
	Never bool
	// Writer is the index of the argument that must be os.Stdout or
	// os.Stderr for a call to be a finding (fmt.Fprintln, spew.Fdump), or -1.
	Writer int
	// StdioRecv is set for methods that are a finding only when called on
	// os.Stdout or os.Stderr (os.Stdout.Write).
	StdioRecv bool
}

// Targets returns a copy of the table, in no particular order. The
// constructors that bind a dumper to a standard stream (repr.New,
// dump.Std) are in it as Never targets.
func Targets() []Target {
	out := make([]Target, 0, len(targets.Targets))
	for _, t := range targets.Targets {
		tg := Target{Rule: t.Rule, Path: t.Path, Recv: t.Recv, Name: t.Name, Never: t.How == targets.Never, Writer: -1}
		switch t.How {
		case targets.StdioArg:
			tg.Writer = t.Arg
		case targets.StdioRecv:
			tg.StdioRecv = true
		}
		out = append(out, tg)
	}
	return out
}

// DumpLibraries returns the import paths of the debug-dump libraries whose
// import dumpimport reports.
func DumpLibraries() []string { return slices.Clone(targets.DumpLibraries) }
