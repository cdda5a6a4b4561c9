package lint

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/toilhq/toil/internal/cmdutil"
	"github.com/toilhq/toil/lint"
)

func TestFlagsToOptions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args    []string
		want    func(*Options) bool
		wantErr string
	}{
		{args: nil, want: func(o *Options) bool { return o.Format == "text" && len(o.Patterns) == 0 }},
		{args: []string{"./x/...", "--fix", "--format", "sarif"}, want: func(o *Options) bool {
			return o.Fix && o.Format == "sarif" && o.Patterns[0] == "./x/..."
		}},
		{args: []string{"--enable", "logdebug,debugstack", "--disable", "fmtprint"}, want: func(o *Options) bool {
			return len(o.Enable) == 2 && o.Disable[0] == "fmtprint"
		}},
		{args: []string{"--staged"}, want: func(o *Options) bool { return o.Staged }},
		{args: []string{"--new-from-rev", "HEAD~1"}, want: func(o *Options) bool { return o.NewFromRev == "HEAD~1" }},
		{args: []string{"--new-from-patch", "x.diff"}, want: func(o *Options) bool { return o.NewFromPatch == "x.diff" }},
		{args: []string{"--no-cache"}, want: func(o *Options) bool { return o.NoCache }},
		{args: nil, want: func(o *Options) bool { return !o.NoCache }},
		{args: []string{"--format", "xml"}, wantErr: `--format "xml" is not a format`},
		{args: []string{"--enable", "nope"}, wantErr: `--enable: unknown rule "nope"; valid rules: breakpoint`},
		{args: []string{"--staged", "--new-from-rev", "HEAD"}, wantErr: "exclusive"},
	}
	for _, tt := range tests {
		var got *Options
		f := &cmdutil.Factory{IO: cmdutil.Test(nil, &bytes.Buffer{}, &bytes.Buffer{})}
		cmd := NewCmdLint(f, func(o *Options) error { got = o; return nil })
		cmd.SetArgs(tt.args)
		cmd.SetOut(&bytes.Buffer{})
		cmd.SetErr(&bytes.Buffer{})
		err := cmd.Execute()
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%v: err = %v, want %q", tt.args, err, tt.wantErr)
			} else if cmdutil.ExitCode(err) != cmdutil.ExitUsage {
				t.Errorf("%v: exit %d, want 2", tt.args, cmdutil.ExitCode(err))
			}
			continue
		}
		if err != nil || got == nil || !tt.want(got) {
			t.Errorf("%v: err %v, options %+v", tt.args, err, got)
		}
	}
}

// module writes a small module with one finding and one broken package.
func module(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		"go.mod":     "module example.com/m\n\ngo 1.22\n",
		"lib/lib.go": "package lib\n\nimport \"fmt\"\n\nfunc F() {\n\tfmt.Println(\"x\")\n}\n",
		"bad/bad.go": "package bad\n\nfunc X() {\n\tif {\n}\n",
	}
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestSARIFIsStructurallyValid(t *testing.T) {
	t.Parallel()
	dir := module(t)
	var out, errOut bytes.Buffer
	opts := &Options{IO: cmdutil.Test(nil, &out, &errOut), Format: "sarif", Dir: dir, Version: "v1.2.3"}
	err := lintRun(t.Context(), opts)
	if cmdutil.ExitCode(err) != cmdutil.ExitUsage {
		t.Fatalf("exit %d (%v), want 2: a package does not parse", cmdutil.ExitCode(err), err)
	}
	var doc map[string]any
	if err := json.Unmarshal(out.Bytes(), &doc); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out.String())
	}
	// Required by the SARIF 2.1.0 schema: version, runs; run.tool.driver.name;
	// result.message.text; plus what code scanning needs: ruleId resolving to
	// a rule, a physical location with a relative uri and startLine.
	if doc["version"] != "2.1.0" || doc["$schema"] == nil {
		t.Fatalf("version/$schema: %v %v", doc["version"], doc["$schema"])
	}
	runs := doc["runs"].([]any)
	if len(runs) != 1 {
		t.Fatalf("runs: %d", len(runs))
	}
	run := runs[0].(map[string]any)
	driver := run["tool"].(map[string]any)["driver"].(map[string]any)
	if driver["name"] != "toil" || driver["version"] != "v1.2.3" {
		t.Errorf("driver: %v", driver)
	}
	rules := map[string]int{}
	for i, r := range driver["rules"].([]any) {
		rm := r.(map[string]any)
		id, _ := rm["id"].(string)
		if id == "" || rm["shortDescription"].(map[string]any)["text"] == "" {
			t.Errorf("rule %d lacks id or description: %v", i, rm)
		}
		rules[id] = i
	}
	results := run["results"].([]any)
	if len(results) != 1 {
		t.Fatalf("results: %v", results)
	}
	res := results[0].(map[string]any)
	if res["message"].(map[string]any)["text"] == "" {
		t.Error("result without message text")
	}
	id := res["ruleId"].(string)
	if i, ok := rules[id]; !ok || float64(i) != res["ruleIndex"].(float64) {
		t.Errorf("ruleId %q / ruleIndex %v do not point at the rule", id, res["ruleIndex"])
	}
	loc := res["locations"].([]any)[0].(map[string]any)["physicalLocation"].(map[string]any)
	if uri := loc["artifactLocation"].(map[string]any)["uri"]; uri != "lib/lib.go" {
		t.Errorf("uri = %v, want lib/lib.go", uri)
	}
	if loc["region"].(map[string]any)["startLine"].(float64) != 6 {
		t.Errorf("region: %v", loc["region"])
	}
	inv := run["invocations"].([]any)[0].(map[string]any)
	if inv["executionSuccessful"] != false || len(inv["toolExecutionNotifications"].([]any)) != 1 {
		t.Errorf("the broken package is not reported in invocations: %v", inv)
	}
}

func TestPrettyOutputOnATerminal(t *testing.T) {
	// Not parallel: NO_COLOR is process-wide.
	t.Setenv("NO_COLOR", "")
	os.Unsetenv("NO_COLOR")
	dir := module(t)
	var out, errOut bytes.Buffer
	io := cmdutil.Test(nil, &out, &errOut)
	io.SetTTY(true, true)
	opts := &Options{IO: io, Format: "text", Dir: dir, Patterns: []string{"./lib"}}
	if err := lintRun(t.Context(), opts); cmdutil.ExitCode(err) != cmdutil.ExitFailure {
		t.Fatalf("exit %d (%v), want 1", cmdutil.ExitCode(err), err)
	}
	s := out.String()
	if !strings.Contains(s, "\x1b[") {
		t.Errorf("no styling on a terminal:\n%s", s)
	}
	// Grouped: the file once as a header, then line:col, rule, message.
	if strings.Count(s, "lib/lib.go") != 1 || strings.Contains(s, "lib/lib.go:6") {
		t.Errorf("findings are not grouped by file:\n%s", s)
	}
	for _, want := range []string{"6:2", "fmtprint", "fmt.Println call", "1 finding"} {
		if !strings.Contains(s, want) {
			t.Errorf("missing %q in:\n%s", want, s)
		}
	}

	// NO_COLOR turns the styling off even on a terminal.
	t.Setenv("NO_COLOR", "1")
	out.Reset()
	_ = lintRun(t.Context(), opts)
	if strings.Contains(out.String(), "\x1b[") || !strings.Contains(out.String(), "lib/lib.go:6:2: fmtprint: ") {
		t.Errorf("NO_COLOR output is not plain:\n%s", out.String())
	}
}

// --fix lists each statement it deleted, on stderr and in the JSON document,
// so that deliberate output it removed does not go unnoticed.
// TestNoCache checks that --no-cache leaves the findings cache untouched,
// and that the same run without it fills the cache. Not parallel: it sets
// $TOIL_LINT_CACHE, where the cache would be.
func TestNoCache(t *testing.T) {
	cache := t.TempDir()
	t.Setenv(lint.CacheEnv, cache)
	dir := module(t)
	for _, noCache := range []bool{true, false} {
		var out, errOut bytes.Buffer
		opts := &Options{IO: cmdutil.Test(nil, &out, &errOut), Format: "text", Dir: dir, Patterns: []string{"./lib"}, NoCache: noCache}
		err := lintRun(t.Context(), opts)
		if cmdutil.ExitCode(err) != 1 || !strings.Contains(out.String(), "lib/lib.go:6:2: fmtprint") {
			t.Fatalf("--no-cache=%v: exit %d (%v), stdout %q; want the fmtprint finding", noCache, cmdutil.ExitCode(err), err, out.String())
		}
		entries, err := os.ReadDir(cache)
		if err != nil {
			t.Fatal(err)
		}
		if noCache && len(entries) != 0 {
			t.Errorf("--no-cache wrote %d entries to the cache directory", len(entries))
		}
		if !noCache && len(entries) == 0 {
			t.Error("without --no-cache, nothing was written to the cache directory")
		}
	}
}

func TestFixListsWhatItDeleted(t *testing.T) {
	t.Parallel()
	for _, format := range []string{"text", "json"} {
		dir := module(t)
		var out, errOut bytes.Buffer
		opts := &Options{IO: cmdutil.Test(nil, &out, &errOut), Format: format, Dir: dir, Patterns: []string{"./lib"}, Fix: true}
		if err := lintRun(t.Context(), opts); err != nil {
			t.Fatalf("%s: %v\n%s", format, err, errOut.String())
		}
		for _, want := range []string{"toil lint: deleted lib/lib.go:6: fmtprint: fmt.Println(\"x\")\n", "fixed 1 finding in 1 file"} {
			if !strings.Contains(errOut.String(), want) {
				t.Errorf("%s: stderr lacks %q:\n%s", format, want, errOut.String())
			}
		}
		if format != "json" {
			continue
		}
		var doc struct {
			Fixed []struct {
				Line    int    `json:"line"`
				Deleted string `json:"deleted"`
			} `json:"fixed"`
		}
		if err := json.Unmarshal(out.Bytes(), &doc); err != nil {
			t.Fatalf("not JSON: %v\n%s", err, out.String())
		}
		if len(doc.Fixed) != 1 || doc.Fixed[0].Line != 6 || doc.Fixed[0].Deleted != `fmt.Println("x")` {
			t.Errorf("fixed = %+v, want line 6 deleting fmt.Println(\"x\")", doc.Fixed)
		}
	}
}
