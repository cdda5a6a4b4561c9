package analyzers

import "testing"

// TestTargetsCarryTheMatchConditions checks that the exported table says
// when a call is a finding as the rules decide it: lint's prefilter and
// stub checks rely on these fields.
func TestTargetsCarryTheMatchConditions(t *testing.T) {
	t.Parallel()
	find := func(path, recv, name string) Target {
		t.Helper()
		for _, tg := range Targets() {
			if tg.Path == path && tg.Recv == recv && tg.Name == name {
				return tg
			}
		}
		t.Fatalf("%s %s %s: not in the table", path, recv, name)
		return Target{}
	}
	if tg := find("fmt", "", "Println"); tg.Rule != "fmtprint" || tg.Never || tg.Writer != -1 || tg.StdioRecv {
		t.Errorf("fmt.Println: %+v", tg)
	}
	if tg := find("fmt", "", "Fprintln"); tg.Rule != "stdoutwrite" || tg.Writer != 0 {
		t.Errorf("fmt.Fprintln: %+v", tg)
	}
	if tg := find("os", "File", "Write"); !tg.StdioRecv {
		t.Errorf("os.File.Write: %+v", tg)
	}
	if tg := find("github.com/davecgh/go-spew/spew", "", "Sdump"); !tg.Never {
		t.Errorf("spew.Sdump: %+v", tg)
	}
	if tg := find("github.com/alecthomas/repr", "", "New"); !tg.Never || tg.Rule != "dumpcall" {
		t.Errorf("repr.New, a constructor: %+v", tg)
	}
	ts := Targets()
	ts[0].Name = "changed"
	if Targets()[0].Name == "changed" {
		t.Error("Targets returned the table itself, not a copy")
	}
	libs := DumpLibraries()
	if len(libs) == 0 {
		t.Fatal("no dump libraries")
	}
	libs[0] = "changed"
	if DumpLibraries()[0] == "changed" {
		t.Error("DumpLibraries returned the list itself, not a copy")
	}
}
