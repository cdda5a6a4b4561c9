package watch

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// wait bounds every wait for a batch: generous, as the suite shares two
// cores, and reached only when the watcher is broken.
const wait = 15 * time.Second

// harness runs a Watcher on a temporary tree for one test.
type harness struct {
	t    *testing.T
	root string
	w    *Watcher
}

// start watches a new temporary tree holding files. Global git settings
// are kept out: HOME is empty for the matcher.
func start(t *testing.T, opts Options, files map[string]string) *harness {
	t.Helper()
	root := t.TempDir()
	for name, data := range files {
		writeFile(t, filepath.Join(root, filepath.FromSlash(name)), data)
	}
	return startAt(t, root, opts)
}

func startAt(t *testing.T, root string, opts Options) *harness {
	t.Helper()
	if opts.getenv == nil {
		opts.getenv = func(string) string { return "" }
	}
	w, err := New(root, opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- w.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-errc:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(wait):
			t.Error("Run did not return after its context was canceled")
		}
		for range w.Events() { // closed by Run
		}
	})
	return &harness{t: t, root: root, w: w}
}

func (h *harness) write(name, data string) {
	h.t.Helper()
	writeFile(h.t, h.path(name), data)
}

func (h *harness) path(name string) string { return filepath.Join(h.root, filepath.FromSlash(name)) }

// next returns the next batch.
func (h *harness) next() Batch {
	h.t.Helper()
	select {
	case b, ok := <-h.w.Events():
		if !ok {
			h.t.Fatal("Events closed")
		}
		return b
	case <-time.After(wait):
		h.t.Fatalf("no batch within %v", wait)
	}
	return Batch{}
}

// expect reads batches until their net changes are exactly want (path →
// op). A change outside want fails at once: the watcher saw something it
// should not have.
func (h *harness) expect(want map[string]Op) []Batch {
	h.t.Helper()
	var got Batch
	var batches []Batch
	for !sameOps(got, want) {
		b := h.next()
		batches = append(batches, b)
		got = merge(got, b.Changes, b.First)
		for _, c := range got.Changes {
			if _, ok := want[c.Path]; !ok {
				h.t.Fatalf("unexpected change %s %s; got %v so far, want %v", c.Path, c.Op, got.Changes, want)
			}
		}
	}
	return batches
}

// quiet writes a sentinel file and expects it to be the only change: the
// proof that what was done before it produced no batch. Batches are
// delivered in order, so anything earlier would show up first.
func (h *harness) quiet(what string) {
	h.t.Helper()
	name := fmt.Sprintf("sentinel-%d.txt", time.Now().UnixNano())
	h.write(name, "x")
	b := h.next()
	if len(b.Changes) != 1 || b.Changes[0].Path != name {
		h.t.Fatalf("%s: want no change, got batch %v", what, b.Changes)
	}
}

func sameOps(b Batch, want map[string]Op) bool {
	if len(b.Changes) != len(want) {
		return false
	}
	for _, c := range b.Changes {
		if want[c.Path] != c.Op {
			return false
		}
	}
	return true
}

func TestCreateModifyRemoveRename(t *testing.T) {
	t.Parallel()
	h := start(t, Options{}, map[string]string{"go.mod": "module x\n"})

	h.write("main.go", "package main\n")
	b := h.expect(map[string]Op{"main.go": Created})
	if k := b[0].Changes[0].Kind; k != Go {
		t.Errorf("main.go kind = %v, want go", k)
	}
	h.write("main.go", "package main\n\nfunc main() {}\n")
	h.expect(map[string]Op{"main.go": Modified})

	if err := os.Rename(h.path("main.go"), h.path("app.go")); err != nil {
		t.Fatal(err)
	}
	h.expect(map[string]Op{"main.go": Removed, "app.go": Created})

	if err := os.Remove(h.path("app.go")); err != nil {
		t.Fatal(err)
	}
	h.expect(map[string]Op{"app.go": Removed})
}

func TestNewNestedDirectories(t *testing.T) {
	t.Parallel()
	h := start(t, Options{}, map[string]string{"main.go": "package main\n"})

	// mkdir -p and files at once: most of it exists before any watch on
	// the new directories can be added.
	for _, f := range []string{"a/b/c/one.go", "a/b/two.go", "a/three.txt"} {
		h.write(f, f)
	}
	h.expect(map[string]Op{"a/b/c/one.go": Created, "a/b/two.go": Created, "a/three.txt": Created})

	// A tree moved in from elsewhere, whole.
	outside := t.TempDir()
	writeFile(t, filepath.Join(outside, "pkg", "sub", "x.go"), "package sub\n")
	writeFile(t, filepath.Join(outside, "pkg", "y.go"), "package pkg\n")
	if err := os.Rename(filepath.Join(outside, "pkg"), h.path("pkg")); err != nil {
		t.Fatal(err)
	}
	h.expect(map[string]Op{"pkg/sub/x.go": Created, "pkg/y.go": Created})

	// The new directories are watched from now on.
	h.write("a/b/c/later.go", "package c\n")
	h.write("pkg/sub/later.go", "package sub\n")
	h.expect(map[string]Op{"a/b/c/later.go": Created, "pkg/sub/later.go": Created})
}

func TestRemoveAndRenameDirectory(t *testing.T) {
	t.Parallel()
	h := start(t, Options{}, map[string]string{
		"old/a.go":     "package old\n",
		"old/sub/b.go": "package sub\n",
		"gone/c.go":    "package gone\n",
	})
	if err := os.RemoveAll(h.path("gone")); err != nil {
		t.Fatal(err)
	}
	h.expect(map[string]Op{"gone/c.go": Removed})

	if err := os.Rename(h.path("old"), h.path("new")); err != nil {
		t.Fatal(err)
	}
	h.expect(map[string]Op{"old/a.go": Removed, "old/sub/b.go": Removed, "new/a.go": Created, "new/sub/b.go": Created})

	// Events in the moved tree carry the new names.
	h.write("new/sub/b.go", "package sub // edited\n")
	h.expect(map[string]Op{"new/sub/b.go": Modified})
	// A new directory under the old name is a new directory.
	h.write("old/d.go", "package old\n")
	h.expect(map[string]Op{"old/d.go": Created})
}

func TestIgnoredChangesProduceNothing(t *testing.T) {
	t.Parallel()
	h := start(t, Options{Ignore: []string{"/tmp/"}}, map[string]string{
		".gitignore":  "*.log\nbuild/\n",
		"main.go":     "package main\n",
		"build/x.bin": "old",
	})
	dirs, _ := h.w.Watching()
	if dirs != 1 {
		t.Errorf("watching %d directories, want 1 (build/ is ignored, so not watched)", dirs)
	}
	h.write("debug.log", "a line")
	h.write("sub/trace.log", "a line")
	h.write("build/x.bin", "new")
	h.write("build/deeper/y.bin", "new")
	h.write("tmp/scratch.go", "package tmp\n")
	h.write(".git/index", "x")
	h.write(".toil/bin/web/1234", "binary")
	h.quiet("writes to ignored files")
	// sub/ is watched (only its .log is ignored).
	h.write("sub/sub.go", "package sub\n")
	h.expect(map[string]Op{"sub/sub.go": Created})
}

func TestSaveWithoutChangeProducesNothing(t *testing.T) {
	t.Parallel()
	// The atomic save below must not straddle a batch on a loaded machine.
	h := start(t, Options{Debounce: 300 * time.Millisecond}, map[string]string{"main.go": "package main\n"})
	h.write("main.go", "package main\n") // identical rewrite
	later := time.Now().Add(time.Hour)
	if err := os.Chtimes(h.path("main.go"), later, later); err != nil { // touch
		t.Fatal(err)
	}
	if err := os.Chmod(h.path("main.go"), 0o600); err != nil {
		t.Fatal(err)
	}
	h.quiet("identical rewrite, touch, chmod")

	// The same content in a new file then renamed over the old one.
	h.write("main.go.tmp", "package main\n")
	if err := os.Rename(h.path("main.go.tmp"), h.path("main.go")); err != nil {
		t.Fatal(err)
	}
	h.quiet("identical atomic save")
}

func TestBurstIsOneBatch(t *testing.T) {
	t.Parallel()
	// A debounce long enough that the 50 writes cannot straddle it even
	// on a loaded machine; the default is tested by every other test.
	h := start(t, Options{Debounce: 500 * time.Millisecond, MaxWait: time.Minute}, map[string]string{"main.go": "package main\n"})
	for i := range 50 {
		h.write("main.go", fmt.Sprintf("package main\n\nconst n = %d\n", i))
	}
	b := h.next()
	if len(b.Changes) != 1 || b.Changes[0] != (Change{Path: "main.go", Kind: Go, Op: Modified}) {
		t.Fatalf("first batch = %v, want main.go modified", b.Changes)
	}
	h.quiet("after the burst's batch")
}

func TestMaxWaitFiresDuringEndlessChanges(t *testing.T) {
	t.Parallel()
	// The trailing debounce alone would never fire: only MaxWait can.
	h := start(t, Options{Debounce: time.Hour, MaxWait: 100 * time.Millisecond}, nil)
	deadline := time.After(wait)
	for i := 0; ; i++ {
		h.write("gen.go", fmt.Sprintf("package gen // %d\n", i))
		select {
		case b := <-h.w.Events():
			if len(b.Changes) != 1 || b.Changes[0].Path != "gen.go" {
				t.Fatalf("batch = %v, want gen.go", b.Changes)
			}
			return
		case <-deadline:
			t.Fatalf("no batch within %v of continuous writes", wait)
		case <-time.After(5 * time.Millisecond): // the stream's pace
		}
	}
}

// TestEditorSaves replays how editors save: each is one change to the
// file, or none when the content is the same.
func TestEditorSaves(t *testing.T) {
	t.Parallel()
	saves := map[string]func(h *harness, name, data string){
		// vim with backupcopy=no: probe file 4913, rename to a backup,
		// write anew, delete the backup.
		"vim": func(h *harness, name, data string) {
			h.write("4913", "")
			must(h.t, os.Remove(h.path("4913")))
			must(h.t, os.Rename(h.path(name), h.path(name+"~")))
			h.write(name, data)
			must(h.t, os.Remove(h.path(name+"~")))
		},
		// JetBrains safe write: write a temp file, move the original
		// aside, move the temp file in, delete the original.
		"jetbrains": func(h *harness, name, data string) {
			h.write(name+"___jb_tmp___", data)
			must(h.t, os.Rename(h.path(name), h.path(name+"___jb_old___")))
			must(h.t, os.Rename(h.path(name+"___jb_tmp___"), h.path(name)))
			must(h.t, os.Remove(h.path(name+"___jb_old___")))
		},
		// Atomic rename (VS Code with files.atomicSave, gofmt -w, most
		// tools): write a temp file, rename it over the original.
		"atomic": func(h *harness, name, data string) {
			h.write("."+name+".tmp123", data)
			must(h.t, os.Rename(h.path("."+name+".tmp123"), h.path(name)))
		},
		// In place: truncate and write (nano, vim with backupcopy=yes).
		"in-place": func(h *harness, name, data string) {
			f, err := os.OpenFile(h.path(name), os.O_WRONLY|os.O_TRUNC, 0)
			must(h.t, err)
			_, err = f.WriteString(data)
			must(h.t, err)
			must(h.t, f.Close())
		},
	}
	for name, save := range saves {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			h := start(t, Options{Debounce: 300 * time.Millisecond, MaxWait: time.Minute}, map[string]string{"main.go": "package main\n"})
			save(h, "main.go", "package main\n\nfunc main() {}\n")
			b := h.next()
			if len(b.Changes) != 1 || b.Changes[0] != (Change{Path: "main.go", Kind: Go, Op: Modified}) {
				t.Fatalf("save = %v, want one change: main.go modified", b.Changes)
			}
			save(h, "main.go", "package main\n\nfunc main() {}\n")
			h.quiet("saving the same content")
		})
	}
}

func TestGitignoreChangeUpdatesRules(t *testing.T) {
	t.Parallel()
	h := start(t, Options{}, map[string]string{
		".gitignore": "*.log\n",
		"a.log":      "1",
		"gen/g.go":   "package gen\n",
	})
	h.write("a.log", "2")
	h.quiet("ignored a.log")

	// Un-ignore *.log and ignore gen/: the .gitignore is the change.
	h.write(".gitignore", "gen/\n")
	h.expect(map[string]Op{".gitignore": Modified})
	h.write("a.log", "3")
	h.expect(map[string]Op{"a.log": Modified})
	h.write("gen/g.go", "package gen // edited\n")
	h.write("gen/new/n.go", "package new\n")
	h.quiet("gen/ ignored by the new .gitignore")
	if dirs, _ := h.w.Watching(); dirs != 1 {
		t.Errorf("watching %d directories, want 1 (gen/ dropped)", dirs)
	}

	// A nested .gitignore created later applies too.
	h.write("sub/.gitignore", "*.tmp\n")
	h.expect(map[string]Op{"sub/.gitignore": Created})
	h.write("sub/x.tmp", "x")
	h.quiet("sub/x.tmp ignored by sub/.gitignore")
}

func TestKinds(t *testing.T) {
	t.Parallel()
	h := start(t, Options{ConfigFiles: []string{"conf/app.yaml"}}, nil)
	root2 := t.TempDir()
	h2 := startAt(t, root2, Options{ConfigFiles: []string{filepath.Join(root2, "abs.json")}, LayoutFile: "deploy/toil.yaml"})
	files := map[string]Kind{
		"main.go":          Go,
		"pkg/x_test.go":    Go,
		"go.mod":           GoMod,
		"go.sum":           GoMod,
		"go.work":          GoMod,
		"toil.yaml":        Layout,
		"sub/toil.yaml":    Other,
		"toil.config.yaml": Config,
		"toil.config.toml": Config,
		"conf/app.yaml":    Config,
		"conf/other.yaml":  Other,
		"README.md":        Other,
		"templates/a.tmpl": Other,
	}
	want := map[string]Op{}
	for f := range files {
		h.write(f, f)
		want[f] = Created
	}
	batches := h.expect(want)
	var all Batch
	for _, b := range batches {
		all = merge(all, b.Changes, b.First)
	}
	for _, c := range all.Changes {
		if c.Kind != files[c.Path] {
			t.Errorf("%s: kind %v, want %v", c.Path, c.Kind, files[c.Path])
		}
	}
	if !all.Has(Layout) || !slices.Equal(all.Paths(GoMod), []string{"go.mod", "go.sum", "go.work"}) {
		t.Errorf("Has(Layout)=%v Paths(GoMod)=%v", all.Has(Layout), all.Paths(GoMod))
	}
	if k := h2.w.kind("abs.json"); k != Config {
		t.Errorf("absolute config file: kind %v, want config", k)
	}
	if k := h2.w.kind("deploy/toil.yaml"); k != Layout {
		t.Errorf("LayoutFile deploy/toil.yaml: kind %v, want layout", k)
	}
}

// TestRescanAfterLostEvents is what happens when the kernel's event queue
// overflows: a full rescan reports what changed meanwhile.
func TestRescanAfterLostEvents(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	for _, f := range []string{"keep.go", "edit.go", "del.go", "d/x.go"} {
		writeFile(t, filepath.Join(root, f), f)
	}
	w, err := New(root, Options{getenv: func(string) string { return "" }})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	writeFile(t, filepath.Join(root, "edit.go"), "edited")
	writeFile(t, filepath.Join(root, "new/n.go"), "n")
	must(t, os.Remove(filepath.Join(root, "del.go")))
	must(t, os.RemoveAll(filepath.Join(root, "d")))
	// keep.go touched only: size and mtime compared first, then content.
	later := time.Now().Add(time.Hour)
	must(t, os.Chtimes(filepath.Join(root, "keep.go"), later, later))

	changes, err := w.rescan(true)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]Op{}
	for _, c := range changes {
		got[c.Path] = c.Op
	}
	want := map[string]Op{"edit.go": Modified, "new/n.go": Created, "del.go": Removed, "d/x.go": Removed}
	if !maps.Equal(got, want) {
		t.Errorf("rescan = %v, want %v", got, want)
	}
	if !w.dirs["new"] || w.dirs["d"] {
		t.Errorf("watched dirs after rescan: %v; want new/ added and d/ dropped", slices.Sorted(maps.Keys(w.dirs)))
	}
}

func TestMerge(t *testing.T) {
	t.Parallel()
	t0 := time.Now()
	c := func(p string, op Op) Change { return Change{Path: p, Kind: Go, Op: op} }
	b := merge(Batch{}, []Change{c("b", Created), c("a", Modified), c("r", Removed), c("x", Created)}, t0)
	b = merge(b, []Change{c("b", Modified), c("a", Removed), c("r", Created), c("x", Removed)}, t0.Add(time.Second))
	want := []Change{c("a", Removed), c("b", Created), c("r", Modified)}
	if !slices.Equal(b.Changes, want) || !b.First.Equal(t0) {
		t.Errorf("merge = %v first %v, want %v first %v", b.Changes, b.First, want, t0)
	}
	b = merge(b, []Change{c("x", Created)}, t0)
	if len(b.Changes) != 4 || b.Changes[3] != c("x", Created) {
		t.Errorf("created again after a dropped create/remove: %v", b.Changes)
	}
}

func TestRunStopsAndClosesEvents(t *testing.T) {
	t.Parallel()
	w, err := New(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- w.Run(ctx) }()
	cancel()
	select {
	case err := <-errc:
		if err != nil {
			t.Fatalf("Run = %v, want nil after cancel", err)
		}
	case <-time.After(wait):
		t.Fatal("Run did not return")
	}
	if _, ok := <-w.Events(); ok {
		t.Error("Events not closed")
	}
	if err := w.Run(context.Background()); err == nil {
		t.Error("second Run: want an error")
	}
}

func TestNewErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := filepath.Join(dir, "toil.yaml")
	writeFile(t, file, "")
	if _, err := New(file, Options{}); err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Errorf("New(file) = %v, want a not-a-directory error", err)
	}
	if _, err := New(filepath.Join(dir, "missing"), Options{}); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("New(missing) = %v, want not-exist", err)
	}
}

func TestLimitErrorMessage(t *testing.T) {
	t.Parallel()
	err := limitError("/src/app/pkg", 8191, fmt.Errorf("add watch: %w", syscall.ENOSPC))
	var le *LimitError
	if !errors.As(err, &le) || le.Sysctl != "fs.inotify.max_user_watches" || !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("ENOSPC: %#v", err)
	}
	for _, want := range []string{"/src/app/pkg", "8191 so far", "sudo sysctl fs.inotify.max_user_watches=524288", "/etc/sysctl.d/", ".gitignore"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("ENOSPC message lacks %q:\n%s", want, err)
		}
	}

	err = limitError("/src/app", 0, fmt.Errorf("couldn't initialize inotify: %w", syscall.EMFILE))
	if !errors.As(err, &le) || le.Sysctl != "fs.inotify.max_user_instances" {
		t.Fatalf("EMFILE: %#v", err)
	}
	for _, want := range []string{"sudo sysctl fs.inotify.max_user_instances=1024", "/etc/sysctl.d/", "ulimit -n"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("EMFILE message lacks %q:\n%s", want, err)
		}
	}

	// A limit already at the usual value: suggest more than it.
	high := &LimitError{Path: "/src", Sysctl: "fs.inotify.max_user_watches", Current: "1048576", Err: syscall.ENOSPC}
	if !strings.Contains(high.Error(), "sudo sysctl fs.inotify.max_user_watches=2097152") {
		t.Errorf("limit already 1048576: message should suggest 2097152:\n%s", high)
	}

	err = limitError("/src/app", 0, syscall.EACCES)
	if errors.As(err, &le) || !errors.Is(err, syscall.EACCES) || !strings.Contains(err.Error(), "/src/app") {
		t.Errorf("EACCES: %v, want a plain wrapped error naming the path", err)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
