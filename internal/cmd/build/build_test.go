package build

import (
	"bytes"
	"strings"
	"testing"

	"github.com/toilhq/toil/internal/cmdutil"
)

func TestBuildFlags(t *testing.T) {
	for _, tc := range []struct {
		args              []string
		wantOut, wantTags string
		wantErr           string
	}{
		{args: nil},
		{args: []string{"--out", "dist"}, wantOut: "dist"},
		{args: []string{"-o", "dist", "--tags", "prod"}, wantOut: "dist", wantTags: "prod"},
		{args: []string{"web"}, wantErr: "takes no arguments"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			f := &cmdutil.Factory{IO: cmdutil.Test(nil, &bytes.Buffer{}, &bytes.Buffer{})}
			var got *Options
			cmd := NewCmdBuild(f, func(o *Options) error { got = o; return nil })
			cmd.SetArgs(tc.args)
			cmd.SetOut(&bytes.Buffer{})
			cmd.SetErr(&bytes.Buffer{})
			err := cmd.Execute()
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("toil build %v: error %v, want %q", tc.args, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Out != tc.wantOut || got.Tags != tc.wantTags {
				t.Errorf("toil build %v: Out %q Tags %q, want %q %q", tc.args, got.Out, got.Tags, tc.wantOut, tc.wantTags)
			}
		})
	}
}
