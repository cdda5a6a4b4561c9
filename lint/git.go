package lint

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/format/gitignore"
	"github.com/go-git/go-git/v5/plumbing/format/index"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// openRepo opens the git repository dir is in, and returns its work tree root.
func openRepo(dir string) (*git.Repository, string, error) {
	repo, err := git.PlainOpenWithOptions(dir, &git.PlainOpenOptions{DetectDotGit: true, EnableDotGitCommonDir: true})
	if err != nil {
		if errors.Is(err, git.ErrRepositoryNotExists) {
			return nil, "", fmt.Errorf("%s is not in a git repository; --staged and --new-from-rev compare against git", dir)
		}
		return nil, "", fmt.Errorf("open git repository at %s: %w", dir, err)
	}
	wt, err := repo.Worktree()
	if err != nil {
		return nil, "", fmt.Errorf("git repository at %s: %w", dir, err)
	}
	root, err := filepath.Abs(wt.Filesystem.Root())
	if err != nil {
		return nil, "", err
	}
	return repo, root, nil
}

// goFilesOf maps each regular .go file of a tree to its blob hash, by
// slash path. It reads tree objects only, never blobs.
func goFilesOf(tree *object.Tree) (map[string]plumbing.Hash, error) {
	files := map[string]plumbing.Hash{}
	if tree == nil {
		return files, nil
	}
	w := object.NewTreeWalker(tree, true, nil)
	defer w.Close()
	for {
		name, e, err := w.Next()
		if err == io.EOF {
			return files, nil
		}
		if err != nil {
			return nil, err
		}
		if e.Mode.IsFile() && strings.HasSuffix(name, ".go") {
			files[name] = e.Hash
		}
	}
}

func readBlob(repo *git.Repository, h plumbing.Hash) ([]byte, error) {
	b, err := repo.BlobObject(h)
	if err != nil {
		return nil, err
	}
	r, err := b.Reader()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(r)
}

// headTree is HEAD's tree, or nil before the first commit.
func headTree(repo *git.Repository) (*object.Tree, error) {
	ref, err := repo.Head()
	if errors.Is(err, plumbing.ErrReferenceNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read HEAD: %w", err)
	}
	c, err := repo.CommitObject(ref.Hash())
	if err != nil {
		return nil, fmt.Errorf("read HEAD commit: %w", err)
	}
	return c.Tree()
}

// readIndex reads the index the next commit will record. `git commit -a`,
// `git commit PATH` and `--only` stage into a temporary index and name it in
// GIT_INDEX_FILE for the pre-commit hook; .git/index is then not what gets
// committed. A relative GIT_INDEX_FILE is relative to the work tree's top,
// where git runs hooks.
func readIndex(repo *git.Repository, root string) (*index.Index, error) {
	path := os.Getenv("GIT_INDEX_FILE")
	if path == "" {
		idx, err := repo.Storer.Index()
		if err != nil {
			return nil, fmt.Errorf("read git index: %w", err)
		}
		return idx, nil
	}
	if !filepath.IsAbs(path) {
		path = filepath.Join(root, path)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read git index named by GIT_INDEX_FILE: %w", err)
	}
	defer f.Close()
	idx := &index.Index{}
	if err := index.NewDecoder(f).Decode(idx); err != nil {
		return nil, fmt.Errorf("read git index %s (GIT_INDEX_FILE): %w", path, err)
	}
	return idx, nil
}

// stagedChanges reads the git index: the Go files whose staged content
// differs from HEAD, with the lines the commit adds to each, and a file
// system serving the index's version of every file, so that packages are
// linted exactly as they will be committed.
func stagedChanges(dir string) (fileSystem, map[string]lineSet, error) {
	repo, root, err := openRepo(dir)
	if err != nil {
		return nil, nil, err
	}
	idx, err := readIndex(repo, root)
	if err != nil {
		return nil, nil, err
	}
	tree, err := headTree(repo)
	if err != nil {
		return nil, nil, err
	}
	head, err := goFilesOf(tree)
	if err != nil {
		return nil, nil, fmt.Errorf("read HEAD tree: %w", err)
	}
	ifs := &indexFS{repo: repo, files: map[string]indexFile{}, dirs: map[string][]string{}, isDir: map[string]bool{}, cache: map[string][]byte{}}
	changes := map[string]lineSet{}
	for _, e := range idx.Entries {
		// Unmerged entries (stage > 0) are not committable yet; symlinks and
		// submodules are not source files.
		if e.Stage != 0 || (e.Mode != filemode.Regular && e.Mode != filemode.Executable) {
			continue
		}
		abs := filepath.Join(root, filepath.FromSlash(e.Name))
		ifs.add(abs, e.Hash, int64(e.Size))
		if !strings.HasSuffix(e.Name, ".go") {
			continue
		}
		old, inHead := head[e.Name]
		if inHead && old == e.Hash {
			continue
		}
		var before []byte
		if inHead {
			if before, err = readBlob(repo, old); err != nil {
				return nil, nil, fmt.Errorf("read %s from HEAD: %w", e.Name, err)
			}
		}
		after, err := ifs.ReadFile(abs)
		if err != nil {
			return nil, nil, fmt.Errorf("read %s from the index: %w", e.Name, err)
		}
		if lines := addedLines(string(before), string(after)); len(lines) > 0 {
			changes[abs] = lines
		}
	}
	return ifs, changes, nil
}

type indexFile struct {
	hash plumbing.Hash
	size int64
}

// indexFS serves files from the git index. Reads go through one lock:
// go-git's object storage is not safe for concurrent use.
type indexFS struct {
	repo  *git.Repository
	files map[string]indexFile
	dirs  map[string][]string // directory → names of the files directly in it
	isDir map[string]bool

	mu    sync.Mutex
	cache map[string][]byte
}

func (f *indexFS) add(abs string, h plumbing.Hash, size int64) {
	f.files[abs] = indexFile{hash: h, size: size}
	d := filepath.Dir(abs)
	f.dirs[d] = append(f.dirs[d], filepath.Base(abs))
	for !f.isDir[d] {
		f.isDir[d] = true
		parent := filepath.Dir(d)
		if parent == d {
			break
		}
		d = parent
	}
}

func (f *indexFS) ReadDir(dir string) ([]fs.FileInfo, error) {
	if !f.isDir[dir] {
		return nil, &fs.PathError{Op: "readdir", Path: dir, Err: fs.ErrNotExist}
	}
	var infos []fs.FileInfo
	for _, name := range f.dirs[dir] {
		infos = append(infos, indexInfo{name: name, size: f.files[filepath.Join(dir, name)].size})
	}
	return infos, nil
}

func (f *indexFS) ReadFile(name string) ([]byte, error) {
	e, ok := f.files[name]
	if !ok {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if b, ok := f.cache[name]; ok {
		return b, nil
	}
	b, err := readBlob(f.repo, e.hash)
	if err != nil {
		return nil, err
	}
	f.cache[name] = b
	return b, nil
}

func (f *indexFS) IsDir(name string) bool { return f.isDir[name] }

type indexInfo struct {
	name string
	size int64
}

func (i indexInfo) Name() string       { return i.name }
func (i indexInfo) Size() int64        { return i.size }
func (i indexInfo) Mode() fs.FileMode  { return 0o644 }
func (i indexInfo) ModTime() time.Time { return time.Time{} }
func (i indexInfo) IsDir() bool        { return false }
func (i indexInfo) Sys() any           { return nil }

// revChanges compares the working tree with a revision: every Go file
// (untracked ones too, unless git ignores them) whose content differs,
// with the lines added since rev.
func revChanges(dir, rev string) (map[string]lineSet, error) {
	repo, root, err := openRepo(dir)
	if err != nil {
		return nil, err
	}
	h, err := repo.ResolveRevision(plumbing.Revision(rev))
	if err != nil {
		return nil, fmt.Errorf("--new-from-rev %s: %w", rev, err)
	}
	c, err := repo.CommitObject(*h)
	if err != nil {
		return nil, fmt.Errorf("--new-from-rev %s: %w", rev, err)
	}
	tree, err := c.Tree()
	if err != nil {
		return nil, fmt.Errorf("--new-from-rev %s: %w", rev, err)
	}
	base, err := goFilesOf(tree)
	if err != nil {
		return nil, fmt.Errorf("--new-from-rev %s: %w", rev, err)
	}
	wt, err := repo.Worktree()
	if err != nil {
		return nil, err
	}
	patterns, _ := gitignore.ReadPatterns(wt.Filesystem, nil)
	ignored := gitignore.NewMatcher(patterns)

	changes := map[string]lineSet{}
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil // unreadable: not ours to lint
		}
		rel, _ := filepath.Rel(root, p)
		slash := filepath.ToSlash(rel)
		if d.IsDir() {
			if p != root && (d.Name() == ".git" || ignored.Match(strings.Split(slash, "/"), true)) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(p, ".go") || !d.Type().IsRegular() {
			return nil
		}
		h, tracked := base[slash]
		if !tracked && ignored.Match(strings.Split(slash, "/"), false) {
			return nil
		}
		now, err := os.ReadFile(p)
		if err != nil {
			return nil
		}
		if tracked && plumbing.ComputeHash(plumbing.BlobObject, now) == h {
			return nil
		}
		var before []byte
		if tracked {
			if before, err = readBlob(repo, h); err != nil {
				return fmt.Errorf("read %s at %s: %w", slash, rev, err)
			}
		}
		if lines := addedLines(string(before), string(now)); len(lines) > 0 {
			changes[p] = lines
		}
		return nil
	})
	return changes, err
}
