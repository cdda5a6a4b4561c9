package directive

import (
	"go/ast"
	"go/parser"
	"go/token"
	"reflect"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		text string
		want Directive
		ok   bool
	}{
		{"//toil:ignore fmtprint progress output", Directive{Kind: Ignore, Verb: "ignore", Rules: []string{"fmtprint"}, Reason: "progress output"}, true},
		{"//toil:ignore fmtprint,dumpcall  two   rules ", Directive{Kind: Ignore, Verb: "ignore", Rules: []string{"fmtprint", "dumpcall"}, Reason: "two   rules"}, true},
		{"//toil:file-ignore breakpoint why", Directive{Kind: FileIgnore, Verb: "file-ignore", Rules: []string{"breakpoint"}, Reason: "why"}, true},
		{"//toil:ignore fmtprint", Directive{Kind: Ignore, Verb: "ignore", Rules: []string{"fmtprint"}}, true},
		{"//toil:ignore", Directive{Kind: Ignore, Verb: "ignore"}, true},
		{"//toil:ignroe fmtprint x", Directive{Kind: Unknown, Verb: "ignroe", Reason: "fmtprint x"}, true},
		{"// toil:ignore fmtprint x", Directive{Kind: Ignore, Verb: "ignore", Rules: []string{"fmtprint"}, Reason: "x", Spaced: true}, true},
		{"//nolint", Directive{Kind: Nolint}, true},
		{"//nolint:fmtprint", Directive{Kind: Nolint, Rules: []string{"fmtprint"}}, true},
		{"//nolint:FmtPrint,errcheck // prints CLI output", Directive{Kind: Nolint, Rules: []string{"fmtprint", "errcheck"}, Reason: "prints CLI output"}, true},
		{"//nolint:fmtprint//tight", Directive{Kind: Nolint, Rules: []string{"fmtprint"}, Reason: "tight"}, true},
		{"//nolint // everything", Directive{Kind: Nolint, Reason: "everything"}, true},
		{"// nolint:fmtprint", Directive{Kind: Nolint, Rules: []string{"fmtprint"}, Spaced: true}, true},
		{"//nolintfoo", Directive{}, false},
		{"// an ordinary comment", Directive{}, false},
		{"/* toil:ignore fmtprint x */", Directive{}, false},
		{"//go:build linux", Directive{}, false},
		{"//	toil:ignore fmtprint x", Directive{}, false},
		{"// toil:            # a YAML key in a doc comment", Directive{}, false},
		{"//toil:#", Directive{Kind: Unknown, Verb: "#"}, true},
	} {
		got, ok := Parse(tc.text)
		if ok != tc.ok || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Parse(%q) = %#v, %v; want %#v, %v", tc.text, got, ok, tc.want, tc.ok)
		}
	}
}

func TestNames(t *testing.T) {
	for _, tc := range []struct {
		text string
		rule string
		want bool
	}{
		{"//toil:ignore fmtprint x", "fmtprint", true},
		{"//toil:ignore fmtprint x", "dumpcall", false},
		{"//toil:ignore dumpcall,fmtprint x", "fmtprint", true},
		{"//nolint", "fmtprint", true},
		{"//nolint:all", "fmtprint", true},
		{"//nolint:toil", "fmtprint", true},
		{"//nolint:errcheck", "fmtprint", false},
		{"// toil:ignore fmtprint x", "fmtprint", false},
		{"//toil:bogus fmtprint x", "fmtprint", false},
	} {
		d, _ := Parse(tc.text)
		if got := d.Names(tc.rule); got != tc.want {
			t.Errorf("Parse(%q).Names(%q) = %v, want %v", tc.text, tc.rule, got, tc.want)
		}
	}
}

func TestScanPlacement(t *testing.T) {
	src := `package p

import "fmt"

func f() {
	fmt.Println(1) //toil:ignore fmtprint trailing
	fmt.Println(2)
	//toil:ignore fmtprint own line
	fmt.Println(3,
		4)
	fmt.Println(5)
}

//nolint:fmtprint // whole function
func g() {
	fmt.Println(6)
}

//toil:file-ignore dumpcall everywhere
`
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "p.go", src, parser.ParseComments)
	if err != nil {
		t.Fatal(err)
	}
	found := Scan(fset, f)
	if len(found) != 4 {
		t.Fatalf("Scan found %d directives, want 4", len(found))
	}
	type span struct{ from, to int }
	want := []span{{6, 6}, {8, 10}, {14, 17}, {1, 19}}
	for i, fd := range found {
		if got := (span{fd.From, fd.To}); got != want[i] {
			t.Errorf("%s covers lines %d-%d, want %d-%d", fd.String(), got.from, got.to, want[i].from, want[i].to)
		}
	}
	if found[0].Covers("fmtprint", 7) {
		t.Error("a trailing directive covers the next line")
	}
	if !found[1].Covers("fmtprint", 10) || found[1].Covers("fmtprint", 11) {
		t.Error("an own-line directive must cover exactly the statement below it")
	}
}

// FuzzParse checks that Parse never panics, that what it accepts formats
// back to text it reads as the same directive, and that only comments
// starting with // are directives.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"//toil:ignore fmtprint reason",
		"//toil:file-ignore a,b,c why not",
		"// toil:ignore x",
		"//toil:",
		"//toil:ignore ,, r",
		"//nolint",
		"//nolint:a,B // r",
		"//nolint::x//y",
		"//nolint:a/ /b",
		"// nolint",
		"//nolint\u00a0x",
		"//toil:ignore\tfmtprint\treason\r",
		"//toil:ignore \xff\xfe r",
		"/*toil:ignore x y*/",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		d, ok := Parse(text)
		if !ok {
			return
		}
		if !strings.HasPrefix(text, "//") {
			t.Fatalf("Parse(%q) accepted a comment not starting with //", text)
		}
		again, ok := Parse(d.String())
		if !ok || !reflect.DeepEqual(again, d) {
			t.Fatalf("Parse(%q) = %#v; its String %q parses as %#v, %v", text, d, d.String(), again, ok)
		}
		if strings.Contains(d.String(), "\n") {
			t.Fatalf("String of %q has a newline: %q", text, d.String())
		}
		// Placement must survive the directive as a comment in a file.
		src := "package p\n\nfunc f() {\n\t_ = 1 " + d.String() + "\n}\n"
		fset := token.NewFileSet()
		file, err := parser.ParseFile(fset, "p.go", src, parser.ParseComments)
		if err != nil {
			return // e.g. a NUL byte: not a Go file
		}
		for _, fd := range Scan(fset, file) {
			if fd.Kind != FileIgnore && (fd.From != 4 || fd.To != 4) {
				t.Fatalf("trailing %q covers %d-%d, want 4-4", d.String(), fd.From, fd.To)
			}
		}
		_ = ast.IsGenerated(file)
	})
}
