package runner

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseSpec(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		arg, pkg, name, err string
	}{
		{arg: "hello.world", pkg: "hello", name: "world"},
		{arg: "a/b.name", pkg: "a/b", name: "name"},
		{arg: "example.com/app/hello.World", pkg: "example.com/app/hello", name: "World"},
		{arg: "./hello.world", pkg: "./hello", name: "world"},
		{arg: "hello", err: `"hello" is not PKG.NAME`},
		{arg: "hello.", err: `"hello." is not PKG.NAME`},
		{arg: ".world", err: `".world" is not PKG.NAME`},
		{arg: "hello.wor-ld", err: `"wor-ld" is not a Go identifier`},
		{arg: "example.com/app", err: `"example.com/app" is not PKG.NAME`},
	} {
		s, err := ParseSpec(tt.arg)
		if tt.err != "" {
			var ie *InputError
			if !errors.As(err, &ie) || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("ParseSpec(%q) = %v, want an InputError containing %q", tt.arg, err, tt.err)
			}
			continue
		}
		if err != nil || s.Pkg != tt.pkg || s.Name != tt.name {
			t.Errorf("ParseSpec(%q) = %+v, %v; want %s.%s", tt.arg, s, err, tt.pkg, tt.name)
		}
	}
}

func TestFindModuleAndLocate(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	write(t, filepath.Join(root, "go.mod"), "module example.com/app\n\ngo 1.26\n")
	for _, d := range []string{"hello", "internal/billing", "docs", "tools/gen"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write(t, filepath.Join(root, "hello", "world.go"), "package hello\n")
	write(t, filepath.Join(root, "internal", "billing", "b.go"), "package billing\n")
	write(t, filepath.Join(root, "docs", "x_test.go"), "package docs\n")
	write(t, filepath.Join(root, "tools", "go.mod"), "module example.com/tools\n")
	write(t, filepath.Join(root, "tools", "gen", "gen.go"), "package gen\n")

	sub := filepath.Join(root, "internal")
	mod, err := FindModule(sub)
	if err != nil {
		t.Fatal(err)
	}
	if mod.Root != root || mod.Path != "example.com/app" {
		t.Fatalf("FindModule = %+v", mod)
	}

	for _, tt := range []struct {
		pkg, cwd, dir, pattern, err string
	}{
		{pkg: "hello", cwd: sub, dir: "hello"},
		{pkg: "internal/billing", cwd: root, dir: "internal/billing"},
		{pkg: "./billing", cwd: sub, dir: "internal/billing"},
		{pkg: "example.com/app/hello", cwd: sub, dir: "hello"},
		{pkg: "github.com/other/lib", cwd: root, pattern: "github.com/other/lib"},
		{pkg: "helo", cwd: root, err: "no package helo: ./helo does not exist in module example.com/app; did you mean hello?"},
		{pkg: "billing", cwd: root, err: "did you mean internal/billing?"},
		{pkg: "docs", cwd: root, err: "./docs has no Go files"},
		{pkg: "../..", cwd: sub, err: "is outside module example.com/app"},
		{pkg: "tools/gen", cwd: root, err: "package tools/gen is in another module, example.com/tools (./tools/go.mod); run toil there: cd ./tools && toil run gen.x"},
	} {
		tg, err := Locate(mod, tt.cwd, Spec{Pkg: tt.pkg, Name: "x"})
		if tt.err != "" {
			var ie *InputError
			if !errors.As(err, &ie) || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("Locate(%q) = %v, want an InputError containing %q", tt.pkg, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("Locate(%q): %v", tt.pkg, err)
			continue
		}
		if tt.pattern != "" {
			if tg.Pattern != tt.pattern || tg.Dir != "" {
				t.Errorf("Locate(%q) = %+v, want pattern %s", tt.pkg, tg, tt.pattern)
			}
			continue
		}
		if want := filepath.Join(root, tt.dir); tg.Dir != want || tg.Pattern != want || tg.Rel != tt.dir {
			t.Errorf("Locate(%q) = %+v, want dir %s", tt.pkg, tg, want)
		}
	}
}

// A module whose path is also the name of a package directory in it (what
// toil new report makes): report.run is the report/ directory, while the
// module path still names the root when no such directory exists.
func TestLocateModulePathEqualsDir(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	write(t, filepath.Join(root, "go.mod"), "module report\n\ngo 1.26\n")
	write(t, filepath.Join(root, "main.go"), "package main\n")
	if err := os.MkdirAll(filepath.Join(root, "report"), 0o755); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(root, "report", "run.go"), "package report\n")
	mod := &Module{Root: root, Path: "report"}
	for _, pkg := range []string{"report", "report/report"} {
		tg, err := Locate(mod, root, Spec{Pkg: pkg, Name: "run"})
		if err != nil {
			t.Fatalf("Locate(%q): %v", pkg, err)
		}
		if want := filepath.Join(root, "report"); tg.Dir != want || tg.Rel != "report" {
			t.Errorf("Locate(%q) = %+v, want dir %s", pkg, tg, want)
		}
	}

	// Without a report/ directory, the module path is the root package.
	bare := t.TempDir()
	write(t, filepath.Join(bare, "go.mod"), "module report\n\ngo 1.26\n")
	write(t, filepath.Join(bare, "run.go"), "package report\n")
	tg, err := Locate(&Module{Root: bare, Path: "report"}, bare, Spec{Pkg: "report", Name: "run"})
	if err != nil {
		t.Fatalf("Locate(report) in a module with no report/: %v", err)
	}
	if tg.Dir != bare || tg.Rel != "." {
		t.Errorf("Locate(report) in a module with no report/ = %+v, want the root %s", tg, bare)
	}
}

func TestFindModuleOutsideAModule(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	_, err := FindModule(dir)
	var ie *InputError
	if !errors.As(err, &ie) || !strings.Contains(err.Error(), "go mod init") {
		t.Errorf("FindModule = %v, want an InputError saying how to make a module", err)
	}
}
