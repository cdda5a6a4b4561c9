package vettool

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestInvoked(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		want bool
	}{
		{[]string{"-V=full"}, true},
		{[]string{"-flags"}, true},
		{[]string{"/tmp/go-build1/b001/vet.cfg"}, true},
		{[]string{"-json", "-fmtprint=false", "/tmp/go-build1/b001/vet.cfg"}, true},
		{[]string{"-fix", "-diff", "$WORK/b002/vet.cfg"}, true},
		{nil, false},
		{[]string{"lint"}, false},
		{[]string{"lint", "./..."}, false},
		{[]string{"lint", "x.cfg"}, false}, // a toil command with a .cfg argument
		{[]string{"-V=full", "lint"}, false},
		{[]string{"--help"}, false},
		{[]string{"-V"}, false},
	} {
		if got := Invoked(tc.args); got != tc.want {
			t.Errorf("Invoked(%q) = %v, want %v", tc.args, got, tc.want)
		}
	}
}

func TestExplicitlyEnabled(t *testing.T) {
	t.Parallel()
	got := explicitlyEnabled([]string{"-json", "-debugstack", "--logdebug=true", "-fmtprint=false", "-dumpcall.tests", "-c=3", "vet.cfg"})
	want := map[string]bool{"json": true, "debugstack": true, "logdebug": true, "fmtprint": false}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("explicitlyEnabled = %v, want %v", got, want)
	}
}

func TestVetAnalyzersKeepsEveryFlag(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write(t, filepath.Join(dir, "go.mod"), "module example.com/m\n")
	write(t, filepath.Join(dir, "toil.yaml"), "lint:\n  disable: [fmtprint]\n  enable: [logdebug]\n")
	cfg := filepath.Join(t.TempDir(), "vet.cfg")
	write(t, cfg, `{"VetxOnly": false}`)

	list, err := vetAnalyzers([]string{"-json", "-debugstack", cfg}, dir)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]int{}
	for i, a := range list {
		byName[a.Name] = i
	}
	for _, name := range []string{"breakpoint", "builtinprint", "dumpcall", "fmtprint", "debugstack", "stdoutwrite", "logdebug", "dumpimport", "directives"} {
		if _, ok := byName[name]; !ok {
			t.Errorf("%s missing: its vet flags would not parse", name)
		}
	}
	// Disabled by settings, not asked for: inert, but with its flags.
	off := list[byName["fmtprint"]]
	if len(off.Requires) != 0 || off.Flags.Lookup("cmdpatterns") == nil {
		t.Errorf("disabled fmtprint: Requires %v, cmdpatterns flag %v; want inert with flags", off.Requires, off.Flags.Lookup("cmdpatterns"))
	}
	res, err := off.Run(nil)
	if err != nil || reflect.TypeOf(res) != off.ResultType {
		t.Errorf("inert Run = %T, %v; want a %v so unitchecker accepts it", res, err, off.ResultType)
	}
	// Off by default but asked for with -debugstack: a real analyzer.
	if len(list[byName["debugstack"]].Requires) == 0 {
		t.Error("-debugstack did not give a working debugstack analyzer")
	}
	// Enabled by settings.
	if len(list[byName["logdebug"]].Requires) == 0 {
		t.Error("enable: [logdebug] did not give a working logdebug analyzer")
	}
}

func TestVetAnalyzersSettingsErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write(t, filepath.Join(dir, "go.mod"), "module example.com/m\n")
	write(t, filepath.Join(dir, "toil.yaml"), "lint:\n  disable: [fmtprnt]\n")
	cfg := filepath.Join(t.TempDir(), "vet.cfg")

	write(t, cfg, `{"VetxOnly": false}`)
	if _, err := vetAnalyzers([]string{cfg}, dir); err == nil {
		t.Error("a bad toil.yaml was accepted for a package go vet reports on")
	}
	// A dependency's toil.yaml is never read: go vet reports nothing there.
	write(t, cfg, `{"VetxOnly": true}`)
	if _, err := vetAnalyzers([]string{cfg}, dir); err != nil {
		t.Errorf("VetxOnly run read the settings: %v", err)
	}
}

func TestBuildIDCoversSettings(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write(t, filepath.Join(dir, "go.mod"), "module example.com/m\n")
	id := func() []byte {
		t.Helper()
		b, err := BuildID(dir)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	base := id()
	if !bytes.Equal(base, id()) {
		t.Fatal("BuildID is not stable")
	}

	write(t, filepath.Join(dir, "toil.yaml"), "name: demo\nservices: {}\n")
	if !bytes.Equal(base, id()) {
		t.Error("a toil.yaml without lint: changed the ID: go vet would re-run for nothing")
	}
	write(t, filepath.Join(dir, "toil.yaml"), "lint:\n  disable: [fmtprint]\n")
	if bytes.Equal(base, id()) {
		t.Error("disabling fmtprint left the ID unchanged: go vet would replay stale results")
	}
	os.Remove(filepath.Join(dir, "toil.yaml"))

	// A toil.yaml below dir applies to the packages under it.
	write(t, filepath.Join(dir, "sub", "toil.yaml"), "lint:\n  dump-tests: true\n")
	if bytes.Equal(base, id()) {
		t.Error("a nested toil.yaml left the ID unchanged")
	}
	// ...but not in directories go vet ./... skips.
	os.RemoveAll(filepath.Join(dir, "sub"))
	write(t, filepath.Join(dir, "testdata", "toil.yaml"), "lint:\n  dump-tests: true\n")
	write(t, filepath.Join(dir, "_old", "toil.yaml"), "lint:\n  dump-tests: true\n")
	if !bytes.Equal(base, id()) {
		t.Error("a toil.yaml under testdata/ or _old/ changed the ID")
	}

	// A broken nested file is left for the packages under it to report.
	write(t, filepath.Join(dir, "sub", "toil.yaml"), "lint:\n  enable: [nope]\n")
	if _, err := BuildID(dir); err != nil {
		t.Errorf("nested broken toil.yaml failed BuildID: %v", err)
	}
	// A broken one above the packages fails at once, naming the file.
	write(t, filepath.Join(dir, "toil.yaml"), "lint:\n  enable: [nope]\n")
	if _, err := BuildID(dir); err == nil || !bytes.Contains([]byte(err.Error()), []byte("toil.yaml:2")) {
		t.Errorf("BuildID with a broken toil.yaml: %v, want an error naming toil.yaml:2", err)
	}
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
