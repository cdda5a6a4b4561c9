package layout_test

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/toilhq/toil/layout"
)

var update = flag.Bool("update", false, "rewrite the # want: lines of testdata/errors/*.yaml from what Parse reports")

const wantPrefix = "# want: "

// Each file in testdata/errors is a broken layout ending in "# want:"
// lines: every error Parse must report, in order, as line:col: message.
// One file holds several problems, so this also checks that Parse reports
// them all at once, sorted by line.
func TestErrors(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("testdata/errors/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no test files: %v", err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			t.Parallel()
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			src, want := splitWant(string(data))
			_, err = layout.Parse(file, []byte(src))
			var errs layout.Errors
			if !errors.As(err, &errs) {
				t.Fatalf("Parse: got %v, want layout.Errors", err)
			}
			var got []string
			for _, e := range errs {
				if e.File != file {
					t.Errorf("error names file %q, want %q", e.File, file)
				}
				got = append(got, position(e)+e.Msg)
			}
			if *update {
				var b strings.Builder
				b.WriteString(src)
				for _, g := range got {
					b.WriteString(wantPrefix + g + "\n")
				}
				if err := os.WriteFile(file, []byte(b.String()), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			if !slices.Equal(got, want) {
				t.Errorf("errors:\ngot:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
			}
		})
	}
}

func position(e *layout.Error) string {
	switch {
	case e.Line == 0:
		return ""
	case e.Col == 0:
		return fmt.Sprintf("%d: ", e.Line)
	}
	return fmt.Sprintf("%d:%d: ", e.Line, e.Col)
}

// splitWant separates a test file's layout from its trailing want lines.
func splitWant(data string) (src string, want []string) {
	lines := strings.SplitAfter(data, "\n")
	i := len(lines)
	for i > 0 && (strings.HasPrefix(lines[i-1], wantPrefix) || lines[i-1] == "") {
		i--
	}
	for _, l := range lines[i:] {
		if w, ok := strings.CutPrefix(l, wantPrefix); ok {
			want = append(want, strings.TrimSuffix(w, "\n"))
		}
	}
	return strings.Join(lines[:i], ""), want
}

// What a user sees: one line per problem, file:line:col first, in the order
// of the file, whatever order the checks ran in.
func TestErrorText(t *testing.T) {
	t.Parallel()
	src := `name: shop
proxy:
  listen: "127.0.0.1:8000"
  routes: [{path: /, to: web}]
services:
  web: {run: shop.web, procs: 0, listen: "127.0.0.1:8000"}
`
	_, err := layout.Parse("deploy/toil.yaml", []byte(src))
	want := `deploy/toil.yaml:6:31: services.web.procs: 0 workers; a service runs at least 1 (remove the service to run none)
deploy/toil.yaml:6:42: services.web.listen: port 8000 is also used by proxy.listen (line 3); give each its own`
	if err == nil || err.Error() != want {
		t.Errorf("got:\n%v\nwant:\n%s", err, want)
	}
	if (&layout.Error{File: "t.yaml", Msg: "m"}).Error() != "t.yaml: m" || (&layout.Error{File: "t.yaml", Line: 3, Msg: "m"}).Error() != "t.yaml:3: m" {
		t.Error("Error without a column or a line")
	}
}

// A valid layout round-trips: parsing it twice gives equal layouts, and it
// differs from itself in nothing.
func TestDeterministic(t *testing.T) {
	t.Parallel()
	for _, f := range []string{"testdata/design.yaml", "testdata/full.yaml"} {
		a, b := load(t, f), load(t, f)
		same(t, f, a, b)
		if c := layout.Diff(a, b); !c.Empty() {
			t.Errorf("%s: Diff with itself: %s", f, c)
		}
	}
	// And errors come out in the same order every time.
	data, err := os.ReadFile("testdata/errors/clash.yaml")
	if err != nil {
		t.Fatal(err)
	}
	_, e1 := layout.Parse("x", data)
	for range 20 {
		if _, e2 := layout.Parse("x", data); e2.Error() != e1.Error() {
			t.Fatalf("errors vary between runs:\n%v\n---\n%v", e1, e2)
		}
	}
}
