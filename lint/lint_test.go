package lint

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/toilhq/toil/analyzers"
)

func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestSyntaxErrorDoesNotStopOtherPackages(t *testing.T) {
	t.Parallel()
	dir := writeTree(t, map[string]string{
		"go.mod":        "module example.com/m\n\ngo 1.22\n",
		"a/a.go":        "package a\n\nimport \"fmt\"\n\nfunc A() { fmt.Println(1) }\n",
		"b/b.go":        "package b\n\nfunc B() {\n\tfor {\n}\n",
		"c/c.go":        "package c\n\nfunc C() { println(2) }\n",
		"d/d.go":        "package d\n\nimport (\n\t\"fmt\"\n", // broken import block: go/build itself fails
		"e/e_linux.go":  "package e\n\nfunc E() { println(3) }\n",
		"e/e_other.go":  "//go:build !linux\n\npackage e\n\nfunc E() { println(4) }\n",
		"f/f.go":        "package f\n\n/*\n#include <stdio.h>\n*/\nimport \"C\"\n\nfunc F() { println(C.int(1)) }\n",
		"g/g_test.go":   "package g_test\n\nimport \"runtime\"\n\nfunc TestG() { runtime.Breakpoint() }\n",
		"g/g.go":        "package g\n",
		"testdata/x.go": "package x\n\nfunc X() { println(5) }\n",
	})
	res, err := Run(t.Context(), Config{Dir: dir, Settings: analyzers.Settings{}})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range res.Findings {
		rel, _ := filepath.Rel(dir, f.Pos.Filename)
		got = append(got, filepath.ToSlash(rel)+":"+f.Rule)
	}
	want := []string{"a/a.go:fmtprint", "c/c.go:builtinprint", "e/e_linux.go:builtinprint", "g/g_test.go:breakpoint"}
	if !strings.HasPrefix(os.Getenv("GOOS")+"linux", "linux") {
		t.Skip("the build-tag case assumes GOOS=linux")
	}
	if cgo := os.Getenv("CGO_ENABLED"); cgo != "0" {
		want = append(want, "f/f.go:builtinprint")
	}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("findings:\n got %v\nwant %v", got, want)
	}
	var broken []string
	for _, e := range res.Errors {
		rel, _ := filepath.Rel(dir, e.Pos.Filename)
		broken = append(broken, filepath.ToSlash(rel))
		if e.Pos.Line == 0 {
			t.Errorf("error without a line: %v", e)
		}
	}
	if !slices.Equal(broken, []string{"b/b.go", "d/d.go"}) {
		t.Errorf("broken packages: %v (%v)", broken, res.Errors)
	}
}

func TestParsePatch(t *testing.T) {
	t.Parallel()
	patch := `diff --git a/x.go b/x.go
--- a/x.go
+++ b/x.go
@@ -1,3 +1,4 @@
 package x
-var a = 1
+var a = 2
+var b = 3
 
@@ -10,0 +12,2 @@ func f() {
+	println()
+	println()
--- a/gone.go
+++ /dev/null
@@ -1 +0,0 @@
-package gone
--- /dev/null
+++ b/new.go	2024-01-01 00:00:00
@@ -0,0 +1,2 @@
+package n
+
`
	files, err := parsePatch([]byte(patch))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]int{}
	for name, lines := range files {
		for l := range lines {
			got[name] = append(got[name], l)
		}
		slices.Sort(got[name])
	}
	if !slices.Equal(got["b/x.go"], []int{2, 3, 12, 13}) || !slices.Equal(got["b/new.go"], []int{1, 2}) || len(got) != 2 {
		t.Errorf("added lines: %v", got)
	}
}

func TestAddedLines(t *testing.T) {
	t.Parallel()
	old := "a\nb\nc\n"
	new := "a\nB\nb\nc\nd"
	got := addedLines(old, new)
	if len(got) != 2 || !got[2] || !got[5] {
		t.Errorf("addedLines = %v, want lines 2 and 5", got)
	}
	if n := len(addedLines("", "x\ny\n")); n != 2 {
		t.Errorf("a new file adds all its lines, got %d", n)
	}
}
