package watch

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/fsnotify/fsnotify"
)

// Defaults for [Options].
const (
	// DefaultDebounce is the quiet time after the last change before a
	// batch is delivered: long enough to cover an editor's save (a few
	// renames within a millisecond) or a `git checkout`, short next to a
	// Go build (air waits 1 s, watchexec 50 ms).
	DefaultDebounce = 60 * time.Millisecond
	// DefaultMaxWait caps the wait when changes never stop (a generator
	// writing in a loop), so a batch still goes out.
	DefaultMaxWait = 500 * time.Millisecond
	// DefaultLayoutFile is the layout's file name, at the root.
	DefaultLayoutFile = "toil.yaml"
)

// maxHashSize bounds the files whose content is hashed; bigger ones (data,
// binaries someone did not ignore) are compared by size and mtime.
const maxHashSize = 16 << 20

// Kind says what a changed file is to toil dev, which decides what it does:
// rebuild, reload config, re-read the layout.
type Kind uint8

const (
	// Other is any other file (templates, assets, embedded files).
	Other Kind = iota
	// Go is a .go file.
	Go
	// GoMod is go.mod, go.sum, go.work or go.work.sum.
	GoMod
	// Config is a service's config file: one of [Options.ConfigFiles], or
	// toil.config.{yaml,yml,json,toml} at the root.
	Config
	// Layout is the layout file, toil.yaml.
	Layout
)

// String names the kind for messages.
func (k Kind) String() string {
	switch k {
	case Go:
		return "go"
	case GoMod:
		return "go.mod"
	case Config:
		return "config"
	case Layout:
		return "layout"
	}
	return "other"
}

// Op says what happened to a file since the last batch.
type Op uint8

const (
	// Created is a file toil had not seen.
	Created Op = iota + 1
	// Modified is a file whose content changed.
	Modified
	// Removed is a file that is gone (or is now ignored).
	Removed
)

// String names the operation for messages.
func (o Op) String() string {
	switch o {
	case Created:
		return "created"
	case Modified:
		return "modified"
	case Removed:
		return "removed"
	}
	return fmt.Sprintf("Op(%d)", uint8(o))
}

// Change is one file that changed.
type Change struct {
	// Path is relative to the root, with '/' separators.
	Path string
	Kind Kind
	Op   Op
}

// Batch is the set of files that changed in one burst of saves. A file
// appears once, with its net change: created then removed within a burst
// is not there at all.
type Batch struct {
	// Changes are sorted by Path.
	Changes []Change
	// First is when the first event of the batch arrived, the start of a
	// save-to-serving timing.
	First time.Time
}

// Has reports whether any change in the batch is of kind k.
func (b Batch) Has(k Kind) bool {
	return slices.ContainsFunc(b.Changes, func(c Change) bool { return c.Kind == k })
}

// Paths returns the paths of the changes of kind k, sorted.
func (b Batch) Paths(k Kind) []string {
	var ps []string
	for _, c := range b.Changes {
		if c.Kind == k {
			ps = append(ps, c.Path)
		}
	}
	return ps
}

// Options tune a [Watcher]. The zero value is ready to use.
type Options struct {
	// Debounce is the trailing quiet time before a batch goes out
	// (default [DefaultDebounce]).
	Debounce time.Duration
	// MaxWait caps the time from the first event to its batch while
	// events keep coming (default [DefaultMaxWait]).
	MaxWait time.Duration
	// Ignore are extra patterns in .gitignore syntax, relative to the
	// root, applied over git's ("/tmp/", "*.gen.go"). .git and .toil/ are
	// always ignored.
	Ignore []string
	// ConfigFiles are the files reported as [Config], relative to the root
	// or absolute (the layout's config: entries).
	ConfigFiles []string
	// LayoutFile is the file reported as [Layout], relative to the root
	// or absolute (default [DefaultLayoutFile]).
	LayoutFile string

	// getenv reads git's environment (HOME, XDG_CONFIG_HOME); tests give
	// each repository a home of its own.
	getenv func(string) string
}

// fileState is what toil knows about a tracked file's content.
type fileState struct {
	size   int64
	mtime  int64 // UnixNano
	sum    uint64
	hashed bool // sum is the content's hash; else compare size and mtime
}

// Watcher follows a directory tree and delivers batches of changed files.
// Create it with [New], then call Run once.
type Watcher struct {
	root   string // absolute
	opts   Options
	layout string
	config map[string]bool
	fsw    *fsnotify.Watcher
	events chan Batch
	seed   maphash.Seed
	buf    []byte

	mu  sync.RWMutex // guards ign and its dirs: Ignored runs on callers' goroutines
	ign *matcher

	// Owned by New, then by Run's goroutine.
	dirs  map[string]bool      // watched directories; "" is the root
	files map[string]fileState // tracked files

	nDirs, nFiles atomic.Int64
	ran           atomic.Bool
	closeOnce     sync.Once
	closeErr      error
}

// New starts watching root: every directory git does not ignore gets an
// inotify watch, and every file's content is hashed, so that changes from
// here on are seen even before Run is called. Call Run, or Close if Run
// will never run.
func New(root string, opts Options) (*Watcher, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("watch %s: %w", root, err)
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return nil, fmt.Errorf("watch %s: %w", root, err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("watch %s: not a directory; give the directory holding toil.yaml", root)
	}
	if opts.Debounce <= 0 {
		opts.Debounce = DefaultDebounce
	}
	if opts.MaxWait <= 0 {
		opts.MaxWait = DefaultMaxWait
	}
	if opts.getenv == nil {
		opts.getenv = os.Getenv
	}
	if opts.LayoutFile == "" {
		opts.LayoutFile = DefaultLayoutFile
	}
	w := &Watcher{
		root:   abs,
		opts:   opts,
		layout: relTo(abs, opts.LayoutFile),
		config: map[string]bool{},
		events: make(chan Batch),
		seed:   maphash.MakeSeed(),
		buf:    make([]byte, 32<<10),
		dirs:   map[string]bool{},
		files:  map[string]fileState{},
	}
	for _, f := range opts.ConfigFiles {
		w.config[relTo(abs, f)] = true
	}
	for _, ext := range []string{"yaml", "yml", "json", "toml"} {
		w.config["toil.config."+ext] = true
	}

	w.fsw, err = fsnotify.NewWatcher()
	if err != nil {
		return nil, limitError(abs, 0, err)
	}
	w.ign = newMatcher(abs, opts.Ignore, opts.getenv)
	var found []string
	err = w.walk(w.ign, "", w.watchDir, func(rel string, fi fs.FileInfo) {
		w.files[rel] = fileState{size: fi.Size(), mtime: fi.ModTime().UnixNano()}
		found = append(found, rel)
	})
	if err != nil {
		w.fsw.Close()
		return nil, err
	}
	w.hashAll(found)
	w.count()
	return w, nil
}

// hashAll hashes the files found at start on every core: opening and
// reading 10,000 files is most of New's time.
func (w *Watcher) hashAll(rels []string) {
	sums := make([]fileState, len(rels))
	workers := min(runtime.GOMAXPROCS(0), 1+len(rels)/64)
	var wg sync.WaitGroup
	for i := range workers {
		buf := w.buf
		if i > 0 {
			buf = make([]byte, len(w.buf))
		}
		wg.Go(func() {
			for j := i; j < len(rels); j += workers {
				st := w.files[rels[j]] // read-only while the workers run
				if st.size <= maxHashSize {
					st.sum, st.hashed = hashFile(w.seed, buf, w.abs(rels[j]))
				}
				sums[j] = st
			}
		})
	}
	wg.Wait()
	for j, rel := range rels {
		w.files[rel] = sums[j]
	}
}

// Events delivers the batches. It is closed when Run returns. A batch
// waits for its reader: changes that come meanwhile are merged into it, so
// a slow reader (a running build) gets one up-to-date batch, not a queue.
func (w *Watcher) Events() <-chan Batch { return w.events }

// Root returns the watched directory, absolute.
func (w *Watcher) Root() string { return w.root }

// Watching returns how many directories and files are watched now.
func (w *Watcher) Watching() (dirs, files int) {
	return int(w.nDirs.Load()), int(w.nFiles.Load())
}

// Ignored reports whether the path, relative to the root with '/'
// separators, is ignored: by git (the .gitignore files, .git/info/exclude,
// core.excludesFile), by toil (.git, .toil/) or by [Options.Ignore]. isDir
// says whether the path is a directory, for patterns ending in '/'. It is
// safe to call while Run runs.
func (w *Watcher) Ignored(rel string, isDir bool) bool {
	rel = path.Clean(rel)
	if rel == "." {
		return false // the root is watched, whatever the repository says
	}
	w.mu.RLock()
	defer w.mu.RUnlock()
	return w.ign.ignored(rel, isDir)
}

// Close stops watching. Run calls it on its way out; call it yourself only
// when Run was never called.
func (w *Watcher) Close() error {
	w.closeOnce.Do(func() { w.closeErr = w.fsw.Close() })
	return w.closeErr
}

// Run follows changes until ctx is done or Close is called, then closes the
// watcher and Events. It returns nil then, and an error when it cannot go
// on watching (an inotify limit reached in a new directory).
func (w *Watcher) Run(ctx context.Context) error {
	if !w.ran.CompareAndSwap(false, true) {
		return errors.New("watch: Run called twice")
	}
	defer close(w.events)
	defer w.Close()

	dirty := map[string]bool{} // paths to look at when the debounce ends
	var first time.Time        // first event of the burst; zero when none
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	var pending Batch // ready for the reader

	for {
		var out chan<- Batch
		if len(pending.Changes) > 0 {
			out = w.events
		}
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-w.fsw.Events:
			if !ok {
				return nil
			}
			relevant, err := w.handle(ev, dirty)
			if err != nil {
				return err
			}
			if !relevant {
				continue
			}
			now := time.Now()
			if first.IsZero() {
				first = now
			}
			wait := min(w.opts.Debounce, first.Add(w.opts.MaxWait).Sub(now))
			timer.Reset(max(wait, 0))
		case err, ok := <-w.fsw.Errors:
			if !ok {
				return nil
			}
			if !errors.Is(err, fsnotify.ErrEventOverflow) {
				return fmt.Errorf("watch %s: %w", w.root, err)
			}
			// The kernel dropped events: look at everything again.
			changes, err := w.rescan(true)
			if err != nil {
				return err
			}
			if first.IsZero() {
				first = time.Now()
			}
			pending = merge(pending, changes, first)
			first = time.Time{}
			clear(dirty)
			timer.Stop()
		case <-timer.C:
			changes, err := w.flush(dirty)
			if err != nil {
				return err
			}
			pending = merge(pending, changes, first)
			first = time.Time{}
			clear(dirty)
		case out <- pending:
			pending = Batch{}
		}
	}
}

// handle notes one fsnotify event. It reports whether the event may be a
// change (and so restarts the debounce); events on ignored paths and
// attribute-only events are not. Directories are handled at once: a new one
// is watched before files appear in it, and a removed or renamed one drops
// its watches before a new directory can take its inode's watch.
func (w *Watcher) handle(ev fsnotify.Event, dirty map[string]bool) (bool, error) {
	rel, ok := w.rel(ev.Name)
	if !ok || rel == "" {
		return false, nil
	}
	if !ev.Has(fsnotify.Create) && !ev.Has(fsnotify.Write) && !ev.Has(fsnotify.Remove) && !ev.Has(fsnotify.Rename) {
		return false, nil // chmod, touch: no content changed
	}
	if (ev.Has(fsnotify.Remove) || ev.Has(fsnotify.Rename)) && w.dirs[rel] {
		w.dropDir(rel, dirty)
		return true, nil
	}
	isDir := false
	if ev.Has(fsnotify.Create) {
		if fi, err := os.Lstat(ev.Name); err == nil && fi.IsDir() {
			isDir = true
			if !w.dirs[rel] && !w.ign.ignored(rel, true) {
				if err := w.walk(w.ign, rel, w.watchDir, func(rel string, _ fs.FileInfo) { dirty[rel] = true }); err != nil {
					return false, err
				}
			}
		}
	}
	_, tracked := w.files[rel]
	if !tracked && w.ign.ignored(rel, isDir) {
		return false, nil
	}
	dirty[rel] = true
	return true, nil
}

// flush looks at every dirty path and returns what changed. A changed
// .gitignore re-reads the ignore rules and the tree.
func (w *Watcher) flush(dirty map[string]bool) ([]Change, error) {
	var changes []Change
	rules := false
	for rel := range dirty {
		c, ok := w.check(rel, false)
		if !ok {
			continue
		}
		changes = append(changes, c)
		if path.Base(rel) == ".gitignore" {
			rules = true
		}
	}
	if rules {
		more, err := w.rescan(false)
		if err != nil {
			return nil, err
		}
		changes = append(changes, more...)
	}
	w.count()
	return changes, nil
}

// check compares a path with what toil knew of it. With trustTimes, an
// unchanged size and mtime mean unchanged content (a rescan); after an
// event the content is hashed anyway, because mtime ticks coarsely and two
// quick writes of the same length can share one.
func (w *Watcher) check(rel string, trustTimes bool) (Change, bool) {
	abs := w.abs(rel)
	old, had := w.files[rel]
	fi, err := os.Stat(abs)
	if err != nil || !fi.Mode().IsRegular() || w.ign.ignored(rel, fi.IsDir()) {
		if !had {
			return Change{}, false
		}
		delete(w.files, rel)
		return Change{Path: rel, Kind: w.kind(rel), Op: Removed}, true
	}
	st := fileState{size: fi.Size(), mtime: fi.ModTime().UnixNano()}
	if had && trustTimes && old.size == st.size && old.mtime == st.mtime {
		return Change{}, false
	}
	if st.size <= maxHashSize {
		st.sum, st.hashed = w.hash(abs)
	}
	w.files[rel] = st
	switch {
	case !had:
		return Change{Path: rel, Kind: w.kind(rel), Op: Created}, true
	case old.hashed && st.hashed && old.sum == st.sum:
		return Change{}, false
	case (!old.hashed || !st.hashed) && old.size == st.size && old.mtime == st.mtime:
		return Change{}, false
	}
	return Change{Path: rel, Kind: w.kind(rel), Op: Modified}, true
}

// rescan walks the whole tree with freshly read ignore rules, fixes the
// watches, and returns what changed. With report (events were lost), files
// that appeared or vanished are changes; without (the rules changed),
// files that merely became ignored or visible are taken in silently.
func (w *Watcher) rescan(report bool) ([]Change, error) {
	m := newMatcher(w.root, w.opts.Ignore, w.opts.getenv)
	dirs := map[string]bool{}
	found := map[string]bool{}
	err := w.walk(m, "", func(rel string) (bool, error) {
		if !w.dirs[rel] {
			if ok, err := w.watchDir(rel); !ok || err != nil {
				return ok, err
			}
		}
		dirs[rel] = true
		return true, nil
	}, func(rel string, _ fs.FileInfo) { found[rel] = true })
	if err != nil {
		return nil, err
	}
	for d := range w.dirs {
		if !dirs[d] {
			w.fsw.Remove(w.abs(d)) // already gone if the directory was
		}
	}
	w.dirs = dirs
	w.mu.Lock()
	w.ign = m
	w.mu.Unlock()

	var changes []Change
	for rel := range found {
		_, had := w.files[rel]
		if c, ok := w.check(rel, true); ok && (had || report) {
			changes = append(changes, c)
		}
	}
	for rel := range w.files {
		if found[rel] {
			continue
		}
		if _, err := os.Lstat(w.abs(rel)); err == nil && !report {
			delete(w.files, rel) // ignored now, not removed
			continue
		}
		if c, ok := w.check(rel, true); ok {
			changes = append(changes, c)
		}
	}
	w.count()
	return changes, nil
}

// walk visits the directory rel and everything in it that m does not
// ignore. dir is called for each directory before its entries are read, so
// that a file created meanwhile is seen either by the walk or as an event;
// it returns false to skip the directory. file is called for each regular
// file, or symlink to one. Symlinks to directories are not followed: git
// does not follow them either.
func (w *Watcher) walk(m *matcher, rel string, dir func(rel string) (bool, error), file func(rel string, fi fs.FileInfo)) error {
	abs := w.abs(rel)
	ok, err := dir(rel)
	if err != nil || !ok {
		return err
	}
	w.mu.Lock()
	m.readDir(abs, rel)
	w.mu.Unlock()
	entries, err := os.ReadDir(abs)
	if err != nil {
		return nil // gone or unreadable: nothing to watch there
	}
	for _, e := range entries {
		crel := e.Name()
		if rel != "" {
			crel = rel + "/" + crel
		}
		t := e.Type()
		switch {
		case t.IsDir():
			if m.ignored(crel, true) {
				continue
			}
			if err := w.walk(m, crel, dir, file); err != nil {
				return err
			}
		case t.IsRegular(), t&fs.ModeSymlink != 0:
			if m.ignored(crel, false) {
				continue
			}
			fi, err := os.Stat(filepath.Join(abs, e.Name()))
			if err != nil || !fi.Mode().IsRegular() {
				continue
			}
			file(crel, fi)
		}
	}
	return nil
}

// watchDir adds an inotify watch on a directory. A directory that vanished
// or cannot be read is skipped; a full watch table is an error that says
// how to raise the limit.
func (w *Watcher) watchDir(rel string) (bool, error) {
	if err := w.fsw.Add(w.abs(rel)); err != nil {
		if errors.Is(err, syscall.ENOSPC) {
			return false, limitError(w.abs(rel), len(w.dirs), err)
		}
		return false, nil
	}
	w.dirs[rel] = true
	return true, nil
}

// dropDir forgets a directory that was removed or renamed away: its
// watches and those below it, and the ignore rules read there. Its files
// are checked at the flush, where they turn out removed (or back, if the
// directory was only replaced).
func (w *Watcher) dropDir(rel string, dirty map[string]bool) {
	under := rel + "/"
	for d := range w.dirs {
		if d == rel || strings.HasPrefix(d, under) {
			w.fsw.Remove(w.abs(d)) // inotify may have dropped it already
			delete(w.dirs, d)
		}
	}
	for f := range w.files {
		if strings.HasPrefix(f, under) {
			dirty[f] = true
		}
	}
	dirty[rel] = true
	key := w.ign.prefix + rel
	w.mu.Lock()
	for d := range w.ign.dirs {
		if d == key || strings.HasPrefix(d, key+"/") {
			delete(w.ign.dirs, d)
		}
	}
	w.mu.Unlock()
}

// hash returns the hash of a file's content.
func (w *Watcher) hash(abs string) (uint64, bool) { return hashFile(w.seed, w.buf, abs) }

// hashFile hashes a file's content, reading through buf.
func hashFile(seed maphash.Seed, buf []byte, abs string) (uint64, bool) {
	f, err := os.Open(abs)
	if err != nil {
		return 0, false
	}
	defer f.Close()
	var h maphash.Hash
	h.SetSeed(seed)
	// A plain read loop: io.Copy would take *os.File's WriteTo path, which
	// allocates a buffer per file.
	for {
		n, err := f.Read(buf)
		h.Write(buf[:n])
		if err == io.EOF {
			return h.Sum64(), true
		}
		if err != nil {
			return 0, false
		}
	}
}

// kind classifies a path relative to the root.
func (w *Watcher) kind(rel string) Kind {
	switch base := path.Base(rel); {
	case rel == w.layout:
		return Layout
	case w.config[rel]:
		return Config
	case base == "go.mod" || base == "go.sum" || base == "go.work" || base == "go.work.sum":
		return GoMod
	case strings.HasSuffix(base, ".go"):
		return Go
	}
	return Other
}

func (w *Watcher) abs(rel string) string {
	if rel == "" {
		return w.root
	}
	return filepath.Join(w.root, filepath.FromSlash(rel))
}

// relTo turns a path from the options, relative to root or absolute, into
// the form of Change.Path.
func relTo(root, p string) string {
	if filepath.IsAbs(p) {
		if r, err := filepath.Rel(root, p); err == nil {
			p = r
		}
	}
	return path.Clean(filepath.ToSlash(p))
}

// rel turns an event's path into one relative to the root.
func (w *Watcher) rel(name string) (string, bool) {
	if name == w.root {
		return "", true
	}
	r, ok := strings.CutPrefix(name, w.root+string(filepath.Separator))
	if !ok {
		return "", false
	}
	return filepath.ToSlash(r), true
}

func (w *Watcher) count() {
	w.nDirs.Store(int64(len(w.dirs)))
	w.nFiles.Store(int64(len(w.files)))
}

// merge adds changes to the batch waiting for its reader, keeping one net
// change per path.
func merge(b Batch, changes []Change, first time.Time) Batch {
	if len(changes) == 0 {
		return b
	}
	if b.First.IsZero() || (!first.IsZero() && first.Before(b.First)) {
		b.First = first
	}
	at := make(map[string]int, len(b.Changes))
	for i, c := range b.Changes {
		at[c.Path] = i
	}
	out := slices.Clone(b.Changes)
	for _, c := range changes {
		i, ok := at[c.Path]
		if !ok {
			at[c.Path] = len(out)
			out = append(out, c)
			continue
		}
		switch prev := out[i].Op; {
		case prev == Created && c.Op == Removed:
			c.Op = 0 // created and gone before the reader saw it
		case prev == Created:
			c.Op = Created
		case prev == Removed && c.Op == Created:
			c.Op = Modified
		}
		out[i] = c
	}
	out = slices.DeleteFunc(out, func(c Change) bool { return c.Op == 0 })
	slices.SortFunc(out, func(a, b Change) int { return strings.Compare(a.Path, b.Path) })
	b.Changes = out
	return b
}
