package up

import (
	"bytes"
	"strings"
	"testing"

	"github.com/toilhq/toil/internal/cmdutil"
)

func TestUpFlags(t *testing.T) {
	for _, tc := range []struct {
		args    []string
		wantBin string
		wantErr string
	}{
		{args: nil, wantBin: ""},
		{args: []string{"--bin", "/opt/shop/bin"}, wantBin: "/opt/shop/bin"},
		{args: []string{"extra"}, wantErr: "takes no arguments"},
		{args: []string{"--out", "x"}, wantErr: "unknown flag: --out"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			f := &cmdutil.Factory{IO: cmdutil.Test(nil, &bytes.Buffer{}, &bytes.Buffer{})}
			var got *Options
			cmd := NewCmdUp(f, func(o *Options) error { got = o; return nil })
			cmd.SetArgs(tc.args)
			cmd.SetOut(&bytes.Buffer{})
			cmd.SetErr(&bytes.Buffer{})
			err := cmd.Execute()
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("toil up %v: error %v, want %q", tc.args, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Bin != tc.wantBin {
				t.Errorf("toil up %v: Bin = %q, want %q", tc.args, got.Bin, tc.wantBin)
			}
		})
	}
}

func TestReloadFlags(t *testing.T) {
	f := &cmdutil.Factory{IO: cmdutil.Test(nil, &bytes.Buffer{}, &bytes.Buffer{})}
	called := false
	cmd := NewCmdUp(f, nil)
	for _, c := range cmd.Commands() {
		if c.Name() == "reload" {
			called = true
		}
	}
	if !called {
		t.Fatal("toil up has no reload subcommand")
	}
	rc := NewCmdReload(f, func(*ReloadOptions) error { return nil })
	rc.SetArgs([]string{"web"})
	rc.SetOut(&bytes.Buffer{})
	rc.SetErr(&bytes.Buffer{})
	if err := rc.Execute(); err == nil || !strings.Contains(err.Error(), "takes no arguments") {
		t.Errorf("toil up reload web: error %v, want takes no arguments", err)
	}
}
