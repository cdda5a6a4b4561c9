package a

import (
	"bytes"
	"fmt"
	"os"
	"reflect"

	"github.com/alecthomas/repr"
	"github.com/davecgh/go-spew/spew"
	"github.com/gookit/goutil/dump"
	"github.com/k0kubun/pp/v3"
	"github.com/kr/pretty"
	"github.com/sanity-io/litter"
	"github.com/yassinebenaid/godump"
)

type state struct{ n int }

func spewCalls(v state) {
	spew.Dump(v)                     // want `spew.Dump call dumps to stdout: debug leftover`
	spew.Print(v)                    // want `spew.Print call dumps to stdout`
	spew.Printf("%v", v)             // want `spew.Printf call dumps to stdout`
	spew.Println(v)                  // want `spew.Println call dumps to stdout`
	spew.Fdump(os.Stdout, v)         // want `spew.Fdump call dumps to stdout`
	spew.Fprint(os.Stderr, v)        // want `spew.Fprint call dumps to stderr`
	spew.Fprintf(os.Stdout, "%v", v) // want `spew.Fprintf call dumps to stdout`
	spew.Fprintln((os.Stderr), v)    // want `spew.Fprintln call dumps to stderr`

	// Explicit writers and strings are legitimate output.
	var buf bytes.Buffer
	spew.Fdump(&buf, v)
	spew.Fprintf(&buf, "%#v", v)
	w := os.Stdout // a variable holding stdout is a writer the code chose
	spew.Fdump(w, v)
	_ = spew.Sdump(v)
	_ = spew.Sprintf("%v", v)
	_ = spew.Errorf("%v", v)
	fmt.Println(spew.Sdump(v)) // fmt.Println is fmtprint's business, not dumpcall's

	cfg := spew.ConfigState{Indent: "\t"}
	cfg.Dump(v)                             // want `spew.ConfigState.Dump call dumps to stdout`
	spew.Config.Println(v)                  // want `spew.ConfigState.Println call dumps to stdout`
	spew.NewDefaultConfig().Printf("%v", v) // want `spew.ConfigState.Printf call dumps to stdout`
	cfg.Fdump(os.Stdout, v)                 // want `spew.ConfigState.Fdump call dumps to stdout`
	cfg.Fprintf(&buf, "%#v", v)             // hashing, as Kubernetes' DeepHashObject does
	_ = cfg.Sdump(v)

	// Not calls: function values and reflection.
	f := spew.Dump
	f(v)
	_ = reflect.ValueOf(spew.Dump)
}

func others(v state) {
	pp.Println(v)             // want `pp.Println call dumps to stdout`
	pp.Fatal(v)               // want `pp.Fatal call dumps to stdout`
	pp.Default.Print(v)       // want `pp.PrettyPrinter.Print call dumps to stdout`
	pp.Fprintln(os.Stdout, v) // want `pp.Fprintln call dumps to stdout`
	_ = pp.Sprint(v)

	litter.Dump(v)           // want `litter.Dump call dumps to stdout`
	litter.D(v)              // want `litter.D call dumps to stdout`
	litter.Config.Dump(v)    // want `litter.Options.Dump call dumps to stdout`
	litter.Options{}.Dump(v) // want `litter.Options.Dump call dumps to stdout`
	_ = litter.Options{Compact: true}.Sdump(v)
	_ = litter.Sdump(v)

	pretty.Println(v)                    // want `pretty.Println call dumps to stdout`
	pretty.Logf("%# v", v)               // want `pretty.Logf call dumps to the standard logger`
	pretty.Fprintf(os.Stdout, "%# v", v) // want `pretty.Fprintf call dumps to stdout`
	pretty.Fprintf(new(bytes.Buffer), "%# v", v)
	_ = pretty.Diff(v, v)
	_ = pretty.Sprint(v)

	repr.Println(v)                                 // want `repr.Println call dumps to stdout`
	repr.New(os.Stdout).Println(v)                  // want `repr.Printer.Println call dumps to stdout`
	repr.New(os.Stderr, repr.Indent("  ")).Print(v) // want `repr.Printer.Print call dumps to stdout`
	repr.New(new(bytes.Buffer)).Println(v)
	p := repr.New(os.Stdout) // the printer's writer is not tracked through variables
	p.Println(v)
	_ = repr.String(v)

	_ = godump.Dump(v) // want `godump.Dump call dumps to stdout`
	d := godump.Dumper{Indentation: "  "}
	d.Println(v)               // want `godump.Dumper.Println call dumps to stdout`
	_ = d.Fprint(os.Stdout, v) // want `godump.Dumper.Fprint call dumps to stdout`
	_ = d.Fprint(new(bytes.Buffer), v)
	_ = d.Sprint(v)
	_ = godump.Sdump(v)

	dump.P(v)                            // want `dump.P call dumps to stdout`
	dump.V(v)                            // want `dump.V call dumps to stdout`
	dump.Std().Print(v)                  // want `dump.Dumper.Print call dumps to stdout`
	dump.NewDumper(os.Stdout, 3).Dump(v) // want `dump.Dumper.Dump call dumps to stdout`
	dump.NewDumper(new(bytes.Buffer), 3).Dump(v)
	dump.Fprint(os.Stderr, v) // want `dump.Fprint call dumps to stderr`
	_ = dump.Format(v)
}

// pp here is a local variable, not the package.
func shadow(v state) {
	type printer struct{ Print func(...any) }
	pp := printer{Print: func(...any) {}}
	pp.Print(v)
	spew := struct{ Dump func(...any) }{Dump: func(...any) {}}
	spew.Dump(v)
}

// ExampleState is a godoc example kept in a non-test file: its dump is its
// output.
func ExampleState() {
	spew.Dump(state{n: 1})
}

// ExampleMonitor takes what it shows as a parameter, as examples outside
// tests do.
func ExampleMonitor(v state) {
	spew.Dump(v)
}

// ExampleDumpState returns a value: an API, not an example.
func ExampleDumpState(v state) state {
	spew.Dump(v) // want `spew.Dump call dumps to stdout`
	return v
}
