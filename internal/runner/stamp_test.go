package runner

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func mustStamp(t *testing.T, path string, kind stampKind) stamp {
	t.Helper()
	s, err := takeStamp(path, kind, false)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestStampFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	f := filepath.Join(dir, "world.go")
	write(t, f, "package hello\n")
	ago := func(d time.Duration) {
		t.Helper()
		at := time.Now().Add(-d)
		if err := os.Chtimes(f, at, at); err != nil {
			t.Fatal(err)
		}
	}
	ago(time.Hour) // saved long ago: its stat can be trusted
	s := mustStamp(t, f, stampFile)
	if s.MTime == 0 {
		t.Fatal("an hour-old file got a racy stamp")
	}
	if ok, _ := s.check(); !ok {
		t.Fatal("unchanged file: check = false")
	}

	// A touch moves the metadata only: still fresh, and the refreshed stamp
	// records the new time so the next check is a stat again.
	ago(30 * time.Minute)
	ok, fresh := s.check()
	if !ok {
		t.Fatal("touched file: check = false, want true by content")
	}
	if fresh.MTime == s.MTime || fresh.MTime == 0 {
		t.Errorf("refreshed mtime = %d, want the new time (was %d)", fresh.MTime, s.MTime)
	}

	// Rewritten by rename (as editors save): new inode, same content.
	write(t, f+".tmp", "package hello\n")
	if err := os.Rename(f+".tmp", f); err != nil {
		t.Fatal(err)
	}
	if ok, _ := fresh.check(); !ok {
		t.Error("same content under a new inode: check = false")
	}

	// Same size, different content.
	write(t, f, "package hellp\n")
	if ok, _ := fresh.check(); ok {
		t.Error("changed content of the same size: check = true")
	}

	if err := os.Remove(f); err != nil {
		t.Fatal(err)
	}
	if ok, _ := fresh.check(); ok {
		t.Error("removed file: check = true")
	}
}

// A file saved again in the same clock tick as it was stamped keeps size,
// mtime and inode: only its content can tell.
func TestStampRacyFileIsCheckedByContent(t *testing.T) {
	t.Parallel()
	f := filepath.Join(t.TempDir(), "world.go")
	write(t, f, "package hello\n")
	s := mustStamp(t, f, stampFile)
	if s.MTime != 0 {
		t.Fatalf("a file written just now got mtime %d in its stamp, want none", s.MTime)
	}
	info, err := os.Stat(f)
	if err != nil {
		t.Fatal(err)
	}
	// Same size, same inode, and the old mtime put back: a stat sees nothing.
	write(t, f, "package hellp\n")
	if err := os.Chtimes(f, info.ModTime(), info.ModTime()); err != nil {
		t.Fatal(err)
	}
	if ok, _ := s.check(); ok {
		t.Error("same-tick edit: check = true, want false")
	}
}

func TestStampAbsent(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	work := filepath.Join(dir, "go.work")
	s := mustStamp(t, work, stampAbsent)
	if s.Kind != stampAbsent {
		t.Fatalf("kind = %s", s.Kind)
	}
	if ok, _ := s.check(); !ok {
		t.Fatal("still absent: check = false")
	}
	write(t, work, "go 1.26\n")
	if ok, _ := s.check(); ok {
		t.Error("go.work appeared: check = true")
	}
}

func TestStampDir(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write(t, filepath.Join(dir, "world.go"), "package hello\n")
	s := mustStamp(t, dir, stampDir)

	// Editor droppings and unrelated files change the directory, not the build.
	write(t, filepath.Join(dir, ".world.go.swp"), "x")
	write(t, filepath.Join(dir, "README.md"), "x")
	ok, fresh := s.check()
	if !ok {
		t.Fatal("swap file and README: check = false, want true")
	}

	write(t, filepath.Join(dir, "extra.go"), "package hello\n")
	if ok, _ := fresh.check(); ok {
		t.Error("new .go file: check = true")
	}
}

func TestStampEmbedDirCountsEveryName(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write(t, filepath.Join(dir, "index.html"), "x")
	s, err := takeStamp(dir, stampDir, true)
	if err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(dir, "new.css"), "x")
	if ok, _ := s.check(); ok {
		t.Error("new file in an embed directory: check = true")
	}
}

func TestPruneKeepsTheLastFewPerService(t *testing.T) {
	t.Parallel()
	run := t.TempDir()
	slot := filepath.Join(run, "slot")
	now := time.Now()
	var dirs []string
	for i := 0; i < 5; i++ {
		d := filepath.Join(slot, "bin"+string(rune('a'+i)))
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		used := now.Add(-time.Duration(5-i) * time.Minute) // bine newest
		if err := os.Chtimes(d, used, used); err != nil {
			t.Fatal(err)
		}
		dirs = append(dirs, d)
	}
	// Another module's slot, unused for 40 days, and one used yesterday.
	stale, recent := filepath.Join(run, "stale"), filepath.Join(run, "recent")
	for d, age := range map[string]time.Duration{stale: 40 * 24 * time.Hour, recent: 24 * time.Hour} {
		if err := os.MkdirAll(filepath.Join(d, "bin"), 0o755); err != nil {
			t.Fatal(err)
		}
		old := now.Add(-age)
		if err := os.Chtimes(filepath.Join(d, "bin"), old, old); err != nil {
			t.Fatal(err)
		}
	}

	(&Builder{}).prune(slot, dirs[0]) // the oldest was just used: it stays
	for i, d := range dirs {
		_, err := os.Stat(d)
		kept := err == nil
		if want := i == 0 || i >= 2; kept != want {
			t.Errorf("%s kept = %v, want %v", filepath.Base(d), kept, want)
		}
	}
	if _, err := os.Stat(stale); err == nil {
		t.Error("a slot unused for 40 days was kept")
	}
	if _, err := os.Stat(recent); err != nil {
		t.Error("a slot used yesterday was pruned")
	}
}
