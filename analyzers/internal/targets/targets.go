// Package targets is the one table of the functions, methods and variables
// toil's analyzers match, by import path, receiver type and name.
//
// The analyzers resolve every call through go/types and compare the callee's
// package path, receiver named type and name with this table; they never
// match source text. toil lint type-checks without compiling dependencies:
// each package listed here is replaced by a small stub that declares exactly
// the objects below with their real signatures (see StubPackages), and every
// other import is left unresolved. An analyzer must therefore only need type
// information for the objects in this table and for the package's own
// declarations, and must stay silent where types are missing.
package targets

import (
	"slices"
	"sync"
)

// Rule names, as users write them in //toil:ignore, --enable and toil.yaml.
const (
	Breakpoint   = "breakpoint"
	BuiltinPrint = "builtinprint"
	DumpCall     = "dumpcall"
	FmtPrint     = "fmtprint"
	DebugStack   = "debugstack"
	StdoutWrite  = "stdoutwrite"
	LogDebug     = "logdebug"
	DumpImport   = "dumpimport"
)

// How says when a matched call is a finding.
type How uint8

// The ways a target is matched.
const (
	// Always: every call is a finding.
	Always How = iota
	// StdioArg: only when argument Arg is exactly os.Stdout or os.Stderr
	// (Fdump, Fprint*: writing to an explicit writer is legitimate output).
	StdioArg
	// StdioRecv: a method, only when its receiver expression is exactly
	// os.Stdout or os.Stderr (os.Stdout.Write).
	StdioRecv
	// StdioCtor: a method, only when its receiver expression is a direct call
	// of a constructor listed in Ctors that returns a standard-stream printer
	// (repr.New(os.Stdout).Println, dump.Std().Print).
	StdioCtor
	// Never: listed so that stubs declare it and dumpimport accepts it; it
	// returns a string or writes to a writer the caller chose.
	Never
)

// Target is one function or method an analyzer matches.
type Target struct {
	Rule string // the rule that reports it
	Path string // import path of the declaring package
	Recv string // receiver's named type ("" for a package-level function); pointer or not
	Name string // function or method name
	How  How
	Arg  int // for StdioArg: index of the writer argument
}

// Ctor is a function returning a printer bound to standard output or error:
// a call of it in receiver position makes a StdioCtor method a finding.
type Ctor struct {
	Path, Name string
	// Arg is the index of the writer argument that must be os.Stdout or
	// os.Stderr, or -1 when the constructor always writes to a standard stream.
	Arg int
}

// Stdio variables: the only writers that make StdioArg/StdioRecv targets match.
const (
	OSPath = "os"
	Stdout = "Stdout"
	Stderr = "Stderr"
	// FileType is *os.File, the receiver of os.Stdout.Write.
	FileType = "File"
)

// DumpLibraries are the debug-dump libraries, for dumpimport. Every
// non-Never target of these paths is a dumping call.
var DumpLibraries = []string{
	Spew, PP, PPv2, PPv3, Litter, KrPretty, Repr, GoDump, GookitDump,
}

// Import paths of the dump libraries.
const (
	Spew       = "github.com/davecgh/go-spew/spew"
	PP         = "github.com/k0kubun/pp"
	PPv2       = "github.com/k0kubun/pp/v2"
	PPv3       = "github.com/k0kubun/pp/v3"
	Litter     = "github.com/sanity-io/litter"
	KrPretty   = "github.com/kr/pretty"
	Repr       = "github.com/alecthomas/repr"
	GoDump     = "github.com/yassinebenaid/godump"
	GookitDump = "github.com/gookit/goutil/dump"
)

// CommandFrameworks are the import paths of CLI frameworks: a package
// importing one is a command package, whose printing is its output.
var CommandFrameworks = []string{
	"github.com/spf13/cobra",
	"github.com/urfave/cli",
	"github.com/urfave/cli/v2",
	"github.com/urfave/cli/v3",
	"gopkg.in/urfave/cli.v1",
	"gopkg.in/urfave/cli.v2",
	"github.com/alecthomas/kong",
	"github.com/peterbourgon/ff/ffcli",
	"github.com/peterbourgon/ff/v2/ffcli",
	"github.com/peterbourgon/ff/v3/ffcli",
	"github.com/mitchellh/cli",
	"github.com/google/subcommands",
}

// Ctors lists the constructors of StdioCtor receivers.
var Ctors = []Ctor{
	{Path: Repr, Name: "New", Arg: 0},
	{Path: GookitDump, Name: "Std", Arg: -1},
	{Path: GookitDump, Name: "Std2", Arg: -1},
	{Path: GookitDump, Name: "NewDumper", Arg: 0},
}

// Targets is the table. Order is irrelevant; stubs are generated from it.
var Targets = slices.Concat(core, ppTargets(PP), ppTargets(PPv2), ppTargets(PPv3))

var core = []Target{
	{Rule: Breakpoint, Path: "runtime", Name: "Breakpoint"},

	{Rule: FmtPrint, Path: "fmt", Name: "Print"},
	{Rule: FmtPrint, Path: "fmt", Name: "Printf"},
	{Rule: FmtPrint, Path: "fmt", Name: "Println"},

	{Rule: StdoutWrite, Path: "fmt", Name: "Fprint", How: StdioArg},
	{Rule: StdoutWrite, Path: "fmt", Name: "Fprintf", How: StdioArg},
	{Rule: StdoutWrite, Path: "fmt", Name: "Fprintln", How: StdioArg},
	{Rule: StdoutWrite, Path: OSPath, Recv: FileType, Name: "Write", How: StdioRecv},
	{Rule: StdoutWrite, Path: OSPath, Recv: FileType, Name: "WriteString", How: StdioRecv},

	{Rule: DebugStack, Path: "runtime/debug", Name: "PrintStack"},

	{Rule: LogDebug, Path: "log", Name: "Print"},
	{Rule: LogDebug, Path: "log", Name: "Printf"},
	{Rule: LogDebug, Path: "log", Name: "Println"},
	{Rule: LogDebug, Path: "log", Recv: "Logger", Name: "Print"},
	{Rule: LogDebug, Path: "log", Recv: "Logger", Name: "Printf"},
	{Rule: LogDebug, Path: "log", Recv: "Logger", Name: "Println"},

	// github.com/davecgh/go-spew/spew
	{Rule: DumpCall, Path: Spew, Name: "Dump"},
	{Rule: DumpCall, Path: Spew, Name: "Print"},
	{Rule: DumpCall, Path: Spew, Name: "Printf"},
	{Rule: DumpCall, Path: Spew, Name: "Println"},
	{Rule: DumpCall, Path: Spew, Name: "Fdump", How: StdioArg},
	{Rule: DumpCall, Path: Spew, Name: "Fprint", How: StdioArg},
	{Rule: DumpCall, Path: Spew, Name: "Fprintf", How: StdioArg},
	{Rule: DumpCall, Path: Spew, Name: "Fprintln", How: StdioArg},
	{Rule: DumpCall, Path: Spew, Recv: "ConfigState", Name: "Dump"},
	{Rule: DumpCall, Path: Spew, Recv: "ConfigState", Name: "Print"},
	{Rule: DumpCall, Path: Spew, Recv: "ConfigState", Name: "Printf"},
	{Rule: DumpCall, Path: Spew, Recv: "ConfigState", Name: "Println"},
	{Rule: DumpCall, Path: Spew, Recv: "ConfigState", Name: "Fdump", How: StdioArg},
	{Rule: DumpCall, Path: Spew, Recv: "ConfigState", Name: "Fprint", How: StdioArg},
	{Rule: DumpCall, Path: Spew, Recv: "ConfigState", Name: "Fprintf", How: StdioArg},
	{Rule: DumpCall, Path: Spew, Recv: "ConfigState", Name: "Fprintln", How: StdioArg},
	{Rule: DumpCall, Path: Spew, Name: "Sdump", How: Never},
	{Rule: DumpCall, Path: Spew, Name: "Sprint", How: Never},
	{Rule: DumpCall, Path: Spew, Name: "Sprintf", How: Never},
	{Rule: DumpCall, Path: Spew, Name: "Sprintln", How: Never},
	{Rule: DumpCall, Path: Spew, Name: "Errorf", How: Never},
	{Rule: DumpCall, Path: Spew, Name: "NewFormatter", How: Never},
	{Rule: DumpCall, Path: Spew, Recv: "ConfigState", Name: "Sdump", How: Never},
	{Rule: DumpCall, Path: Spew, Recv: "ConfigState", Name: "Sprint", How: Never},
	{Rule: DumpCall, Path: Spew, Recv: "ConfigState", Name: "Sprintf", How: Never},
	{Rule: DumpCall, Path: Spew, Recv: "ConfigState", Name: "Sprintln", How: Never},
	{Rule: DumpCall, Path: Spew, Recv: "ConfigState", Name: "Errorf", How: Never},
	{Rule: DumpCall, Path: Spew, Recv: "ConfigState", Name: "NewFormatter", How: Never},

	// github.com/sanity-io/litter
	{Rule: DumpCall, Path: Litter, Name: "Dump"},
	{Rule: DumpCall, Path: Litter, Name: "D"},
	{Rule: DumpCall, Path: Litter, Recv: "Options", Name: "Dump"},
	{Rule: DumpCall, Path: Litter, Name: "Sdump", How: Never},
	{Rule: DumpCall, Path: Litter, Recv: "Options", Name: "Sdump", How: Never},

	// github.com/kr/pretty
	{Rule: DumpCall, Path: KrPretty, Name: "Print"},
	{Rule: DumpCall, Path: KrPretty, Name: "Printf"},
	{Rule: DumpCall, Path: KrPretty, Name: "Println"},
	{Rule: DumpCall, Path: KrPretty, Name: "Log"},
	{Rule: DumpCall, Path: KrPretty, Name: "Logf"},
	{Rule: DumpCall, Path: KrPretty, Name: "Logln"},
	{Rule: DumpCall, Path: KrPretty, Name: "Fprintf", How: StdioArg},
	{Rule: DumpCall, Path: KrPretty, Name: "Sprint", How: Never},
	{Rule: DumpCall, Path: KrPretty, Name: "Sprintf", How: Never},
	{Rule: DumpCall, Path: KrPretty, Name: "Sprintln", How: Never},
	{Rule: DumpCall, Path: KrPretty, Name: "Errorf", How: Never},
	{Rule: DumpCall, Path: KrPretty, Name: "Formatter", How: Never},
	{Rule: DumpCall, Path: KrPretty, Name: "Diff", How: Never},
	{Rule: DumpCall, Path: KrPretty, Name: "Fdiff", How: Never},
	{Rule: DumpCall, Path: KrPretty, Name: "Pdiff", How: Never},
	{Rule: DumpCall, Path: KrPretty, Name: "Ldiff", How: Never},

	// github.com/alecthomas/repr
	{Rule: DumpCall, Path: Repr, Name: "Print"},
	{Rule: DumpCall, Path: Repr, Name: "Println"},
	{Rule: DumpCall, Path: Repr, Recv: "Printer", Name: "Print", How: StdioCtor},
	{Rule: DumpCall, Path: Repr, Recv: "Printer", Name: "Println", How: StdioCtor},
	{Rule: DumpCall, Path: Repr, Name: "String", How: Never},
	{Rule: DumpCall, Path: Repr, Name: "New", How: Never},

	// github.com/yassinebenaid/godump
	{Rule: DumpCall, Path: GoDump, Name: "Dump"},
	{Rule: DumpCall, Path: GoDump, Name: "DumpNC"},
	{Rule: DumpCall, Path: GoDump, Recv: "Dumper", Name: "Print"},
	{Rule: DumpCall, Path: GoDump, Recv: "Dumper", Name: "Println"},
	{Rule: DumpCall, Path: GoDump, Recv: "Dumper", Name: "Fprint", How: StdioArg},
	{Rule: DumpCall, Path: GoDump, Recv: "Dumper", Name: "Fprintln", How: StdioArg},
	{Rule: DumpCall, Path: GoDump, Name: "Sdump", How: Never},
	{Rule: DumpCall, Path: GoDump, Name: "SdumpNC", How: Never},
	{Rule: DumpCall, Path: GoDump, Recv: "Dumper", Name: "Sprint", How: Never},
	{Rule: DumpCall, Path: GoDump, Recv: "Dumper", Name: "Sprintln", How: Never},

	// github.com/gookit/goutil/dump
	{Rule: DumpCall, Path: GookitDump, Name: "P"},
	{Rule: DumpCall, Path: GookitDump, Name: "V"},
	{Rule: DumpCall, Path: GookitDump, Name: "Print"},
	{Rule: DumpCall, Path: GookitDump, Name: "Println"},
	{Rule: DumpCall, Path: GookitDump, Name: "NoLoc"},
	{Rule: DumpCall, Path: GookitDump, Name: "Clear"},
	{Rule: DumpCall, Path: GookitDump, Name: "Fprint", How: StdioArg},
	{Rule: DumpCall, Path: GookitDump, Recv: "Dumper", Name: "Dump", How: StdioCtor},
	{Rule: DumpCall, Path: GookitDump, Recv: "Dumper", Name: "Print", How: StdioCtor},
	{Rule: DumpCall, Path: GookitDump, Recv: "Dumper", Name: "Println", How: StdioCtor},
	{Rule: DumpCall, Path: GookitDump, Recv: "Dumper", Name: "Fprint", How: StdioArg},
	{Rule: DumpCall, Path: GookitDump, Name: "Format", How: Never},
	{Rule: DumpCall, Path: GookitDump, Name: "Std", How: Never},
	{Rule: DumpCall, Path: GookitDump, Name: "Std2", How: Never},
	{Rule: DumpCall, Path: GookitDump, Name: "NewDumper", How: Never},
}

// ppTargets lists k0kubun/pp's API, the same under its three import paths.
func ppTargets(path string) []Target {
	var ts []Target
	for _, name := range []string{"Print", "Printf", "Println", "Fatal", "Fatalf", "Fatalln"} {
		ts = append(ts,
			Target{Rule: DumpCall, Path: path, Name: name},
			Target{Rule: DumpCall, Path: path, Recv: "PrettyPrinter", Name: name})
	}
	for _, name := range []string{"Fprint", "Fprintf", "Fprintln"} {
		ts = append(ts,
			Target{Rule: DumpCall, Path: path, Name: name, How: StdioArg},
			Target{Rule: DumpCall, Path: path, Recv: "PrettyPrinter", Name: name, How: StdioArg})
	}
	for _, name := range []string{"Sprint", "Sprintf", "Sprintln", "Errorf", "New"} {
		ts = append(ts, Target{Rule: DumpCall, Path: path, Name: name, How: Never})
	}
	for _, name := range []string{"Sprint", "Sprintf", "Sprintln"} {
		ts = append(ts, Target{Rule: DumpCall, Path: path, Recv: "PrettyPrinter", Name: name, How: Never})
	}
	return ts
}

// Key identifies a function or method: import path, receiver type name
// ("" for functions) and name.
type Key struct{ Path, Recv, Name string }

// Lookup returns the targets for (path, recv, name), at most one per rule.
func Lookup(path, recv, name string) []Target {
	return index()[Key{path, recv, name}]
}

var index = sync.OnceValue(func() map[Key][]Target {
	m := make(map[Key][]Target, len(Targets))
	for _, t := range Targets {
		k := Key{t.Path, t.Recv, t.Name}
		m[k] = append(m[k], t)
	}
	return m
})

// IsDumpLibrary reports whether path is one of DumpLibraries.
func IsDumpLibrary(path string) bool { return slices.Contains(DumpLibraries, path) }

// IsCommandFramework reports whether importing path makes a package a
// command package.
func IsCommandFramework(path string) bool { return slices.Contains(CommandFrameworks, path) }
