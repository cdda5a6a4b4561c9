package lint

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/toilhq/toil/analyzers"
)

// fixModule lints dir with --fix and returns the result.
func fixModule(t *testing.T, dir string) *Result {
	t.Helper()
	res, err := Run(t.Context(), Config{Dir: dir, Settings: analyzers.Settings{}, Fix: true})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// goBuild builds every package of the module in dir with the real go
// command: a fix must never leave code that does not compile.
func goBuild(t *testing.T, dir string) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), "go", "build", "./...")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOTOOLCHAIN=local", "GOWORK=off", "GOFLAGS=")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build after --fix: %v\n%s", err, out)
	}
}

func read(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

const goMod = "module example.com/m\n\ngo 1.22\n"

// The fzf case (bench/lint-accuracy/testdata/repro/fixpanic): two fixes
// together remove the last uses of fmt, and an import follows "fmt".
// --fix used to panic in the import clean-up.
func TestFixDropsAnImportTwoFixesLeaveUnused(t *testing.T) {
	t.Parallel()
	dir := writeTree(t, map[string]string{
		"go.mod": goMod,
		"algo/algo.go": `package algo

import (
	"fmt"
	"os"
)

var Sep = os.PathSeparator

func debugV2(xs []int) {
	fmt.Print("  ")
	fmt.Println()
}
`,
	})
	res := fixModule(t, dir)
	if len(res.Fixed) != 2 || len(res.FixFailures) != 0 || len(res.Findings) != 0 {
		t.Fatalf("fixed %d, failures %v, left %v; want both prints fixed", len(res.Fixed), res.FixFailures, res.Findings)
	}
	got := read(t, filepath.Join(dir, "algo/algo.go"))
	if strings.Contains(got, `"fmt"`) || !strings.Contains(got, `"os"`) {
		t.Errorf("want fmt dropped and os kept:\n%s", got)
	}
	goBuild(t, dir)
}

// Imports of packages toil lint does not load (strings here is a fake
// package to its type checker) and dot imports are cleaned up too.
func TestFixDropsUnstubbedAndDotImports(t *testing.T) {
	t.Parallel()
	dir := writeTree(t, map[string]string{
		"go.mod": goMod,
		"a/a.go": `package a

import (
	"fmt"
	"strings"
)

func A(s string) {
	fmt.Println(strings.ToUpper(s))
	fmt.Println(strings.ToLower(s))
}
`,
		"b/b.go": `package b

import . "fmt"

func B(s string) {
	Println(s)
	Print(s)
}
`,
	})
	res := fixModule(t, dir)
	if len(res.Fixed) != 4 || len(res.Findings) != 0 {
		t.Fatalf("fixed %d, left %v", len(res.Fixed), res.Findings)
	}
	if got := read(t, filepath.Join(dir, "a/a.go")); strings.Contains(got, "import") {
		t.Errorf("a.go keeps an import:\n%s", got)
	}
	if got := read(t, filepath.Join(dir, "b/b.go")); strings.Contains(got, "import") {
		t.Errorf("b.go keeps the dot import:\n%s", got)
	}
	goBuild(t, dir)
}

// The go-redis case (repro fixunused): each fix alone keeps k used; both
// together would leave "declared and not used: k". One is refused, with the
// reason, and the other applies.
func TestFixRefusesWhatWouldLeaveAVariableUnused(t *testing.T) {
	t.Parallel()
	dir := writeTree(t, map[string]string{
		"go.mod": goMod,
		"report/report.go": `package report

import "fmt"

func send(m map[string]error) {
	for k, err := range m {
		if err != nil {
			fmt.Printf("%s failed: %v\n", k, err)
		} else {
			fmt.Printf("%s ok\n", k)
		}
	}
}
`,
	})
	res := fixModule(t, dir)
	if len(res.Fixed) != 1 || len(res.FixFailures) != 1 || len(res.Findings) != 1 {
		t.Fatalf("fixed %v, failures %v, left %v; want one fixed and one refused", res.Fixed, res.FixFailures, res.Findings)
	}
	ff := res.FixFailures[0]
	if ff.Finding.Pos.Line != 10 || !strings.Contains(ff.Reason, "leave k declared and not used") {
		t.Errorf("refused %s:%d: %s; want line 10 refused for k", ff.Finding.Pos.Filename, ff.Finding.Pos.Line, ff.Reason)
	}
	goBuild(t, dir)
}

// One file that cannot be fixed (it changed since it was linted) stops
// every write: --fix applies everything or nothing.
func TestFixWritesAllOrNothing(t *testing.T) {
	t.Parallel()
	a := "package a\n\nimport \"fmt\"\n\nfunc A() {\n\tfmt.Println(\"a\")\n}\n"
	b := "package b\n\nimport \"fmt\"\n\nfunc B() {\n\tfmt.Println(\"b\")\n}\n"
	dir := writeTree(t, map[string]string{"go.mod": goMod, "a/a.go": a, "b/b.go": b})
	res, err := Run(t.Context(), Config{Dir: dir, Settings: analyzers.Settings{}})
	if err != nil || len(res.Findings) != 2 {
		t.Fatalf("lint: %v, %d findings", err, len(res.Findings))
	}
	// What the engine linted, and then an edit to b/b.go behind its back.
	e := &engine{linted: map[string][]byte{}}
	for _, f := range res.Findings {
		e.linted[f.Pos.Filename] = []byte(read(t, f.Pos.Filename))
	}
	edited := strings.Replace(b, `"b"`, `"b, edited"`, 1)
	if err := os.WriteFile(filepath.Join(dir, "b/b.go"), []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	e.applyFixes(res)
	if len(res.Fixed) != 0 || len(res.FixedFiles) != 0 || len(res.FixFailures) != 2 {
		t.Fatalf("fixed %v in %v, failures %v; want nothing applied", res.Fixed, res.FixedFiles, res.FixFailures)
	}
	for _, ff := range res.FixFailures {
		if !strings.Contains(ff.Reason, "nothing written") || !strings.Contains(ff.Reason, "b.go differs from what was linted") {
			t.Errorf("reason %q does not say why nothing was written", ff.Reason)
		}
	}
	if got := read(t, filepath.Join(dir, "a/a.go")); got != a {
		t.Errorf("a/a.go was written although b/b.go could not be fixed:\n%s", got)
	}
	if got := read(t, filepath.Join(dir, "b/b.go")); got != edited {
		t.Errorf("b/b.go was overwritten:\n%s", got)
	}
	entries, _ := os.ReadDir(filepath.Join(dir, "a"))
	if len(entries) != 1 {
		t.Errorf("temporary files left behind: %v", entries)
	}
}

// --fix says what it deleted, so that deliberate output it removed shows.
func TestFixListsDeletions(t *testing.T) {
	t.Parallel()
	dir := writeTree(t, map[string]string{
		"go.mod": goMod,
		"lib/lib.go": `package lib

import (
	"fmt"
	"runtime"
)

func Greet(name string) string {
	fmt.Println("debug: greeting",
		name)
	defer runtime.Breakpoint()
	return "hello " + name
}
`,
	})
	res := fixModule(t, dir)
	var got []string
	for _, d := range res.Deleted {
		got = append(got, d.Finding.Rule+": "+d.Text)
	}
	want := []string{`fmtprint: fmt.Println("debug: greeting", name)`, "breakpoint: defer runtime.Breakpoint()"}
	if !slices.Equal(got, want) || len(res.Fixed) != len(res.Deleted) {
		t.Errorf("deleted %q, want %q (fixed %d)", got, want, len(res.Fixed))
	}
	goBuild(t, dir)
}
