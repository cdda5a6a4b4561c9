package build

import (
	"slices"
	"testing"
)

// A dev build adds -s -w to whatever -ldflags the user gives, in GOFLAGS
// or in Options.Flags, instead of replacing it (the go command keeps only
// the last -ldflags).
func TestDevLDFlags(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name           string
		goflags, flags []string
		debug          bool
		ld, rest       []string
	}{
		{name: "none", ld: []string{"-ldflags=-s -w"}},
		{name: "GOFLAGS", goflags: []string{"-mod=mod", "-ldflags=-X=main.v=1"}, ld: []string{"-ldflags=-X=main.v=1 -s -w"}},
		{name: "flag form", flags: []string{"-race", "-ldflags", "-X main.v=2"}, ld: []string{"-ldflags=-X main.v=2 -s -w"}, rest: []string{"-race"}},
		{name: "flags over GOFLAGS", goflags: []string{"-ldflags=-X=a=1"}, flags: []string{"--ldflags=-X=b=2"}, ld: []string{"-ldflags=-X=b=2 -s -w"}},
		{name: "debug", goflags: []string{"-ldflags=-X=a=1"}, debug: true},
		{name: "debug, flags", flags: []string{"-ldflags=-X=b=2", "-tags=dev"}, debug: true, ld: []string{"-ldflags=-X=b=2"}, rest: []string{"-tags=dev"}},
		{name: "per-package GOFLAGS", goflags: []string{"-ldflags=all=-X=a=1"}},
		{name: "per-package flags", flags: []string{"-ldflags=all=-X=a=1"}, ld: []string{"-ldflags=all=-X=a=1"}},
	} {
		ld, rest := devLDFlags(tc.goflags, tc.flags, tc.debug)
		if !slices.Equal(ld, tc.ld) || !slices.Equal(rest, tc.rest) {
			t.Errorf("%s: devLDFlags(%q, %q, %v) = %q, %q; want %q, %q", tc.name, tc.goflags, tc.flags, tc.debug, ld, rest, tc.ld, tc.rest)
		}
	}
}

func TestSplitQuoted(t *testing.T) {
	t.Parallel()
	for in, want := range map[string][]string{
		"":                                 nil,
		"  -mod=mod   -trimpath ":          {"-mod=mod", "-trimpath"},
		`-mod=mod "-ldflags=-X a=b" -race`: {"-mod=mod", "-ldflags=-X a=b", "-race"},
		`'-tags=a b'`:                      {"-tags=a b"},
	} {
		got, err := splitQuoted(in)
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("splitQuoted(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{`"-ldflags=-s`, `"-a"b`} {
		if got, err := splitQuoted(bad); err == nil {
			t.Errorf("splitQuoted(%q) = %q, want an error", bad, got)
		}
	}
}

func TestSplitOutput(t *testing.T) {
	t.Parallel()
	out := "go: warning\n# example.com/app/lib\nlib/lib.go:4:1: syntax error\n# example.com/app/.toil/dev/main/web\nlink: oops\n"
	head, secs := splitOutput(out)
	if head != "go: warning\n" || len(secs) != 2 ||
		secs[0] != (section{"example.com/app/lib", "# example.com/app/lib\nlib/lib.go:4:1: syntax error\n"}) ||
		secs[1] != (section{"example.com/app/.toil/dev/main/web", "# example.com/app/.toil/dev/main/web\nlink: oops\n"}) {
		t.Errorf("splitOutput = %q, %q", head, secs)
	}
}

func TestExecName(t *testing.T) {
	t.Parallel()
	for ip, want := range map[string]string{
		"example.com/app/cmd/web": "web",
		"example.com/app":         "app",
		"example.com/app/v2":      "app",
		"example.com/app/v1":      "v1",
		"example.com/app/v0":      "v0",
		"example.com/app/v2x":     "v2x",
		"hello":                   "hello",
	} {
		if got := execName(ip); got != want {
			t.Errorf("execName(%q) = %q, want %q", ip, got, want)
		}
	}
}
