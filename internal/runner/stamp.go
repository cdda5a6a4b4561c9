package runner

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"os"
	"sort"
	"strings"
	"time"
)

// stampKind says how a stamp proves its path unchanged.
type stampKind string

const (
	stampFile   stampKind = "file"   // size+mtime+inode, else the content hash
	stampDir    stampKind = "dir"    // size+mtime+inode, else the hash of the entry names that matter
	stampStat   stampKind = "stat"   // size+mtime+inode only (the go binary: too big to hash each time)
	stampAbsent stampKind = "absent" // must still not exist (a go.work that would change the build)
)

// stamp is one input of a build, recorded so that a later run can prove it
// unchanged with one stat call, falling back to content when only the
// metadata moved (a touch, a git checkout of the same content).
type stamp struct {
	Path  string    `json:"p"`
	Kind  stampKind `json:"k"`
	Size  int64     `json:"s,omitempty"`
	MTime int64     `json:"m,omitempty"`
	Ino   uint64    `json:"i,omitempty"`
	Sum   string    `json:"h,omitempty"`
	// Embed marks a directory holding embedded files: every entry name
	// counts, not only the build's source files.
	Embed bool `json:"e,omitempty"`
}

// takeStamp records path now. A missing path is recorded as absent.
func takeStamp(path string, kind stampKind, embed bool) (stamp, error) {
	s := stamp{Path: path, Kind: kind, Embed: embed}
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		s.Kind = stampAbsent
		return s, nil
	}
	if err != nil {
		return s, err
	}
	if kind == stampAbsent {
		s.Kind = stampStat
		if fi.IsDir() {
			s.Kind = stampDir
		} else if fi.Mode().IsRegular() {
			s.Kind = stampFile
		}
	}
	s.Size, s.MTime, s.Ino = statOf(fi)
	if racy(s.MTime) {
		s.MTime = 0
	}
	switch s.Kind {
	case stampFile:
		s.Sum, err = fileSum(path)
	case stampDir:
		s.Sum, err = dirSum(path, embed)
	}
	return s, err
}

// racyWindow is how close to now a change must be for a stat to be unable
// to prove the next one: kernels stamp files from a coarse clock (a few ms)
// and some filesystems to the second, so a file saved again within the same
// tick keeps its mtime. Such a stamp records no mtime, and the next check
// compares content instead: git's "racily clean" index entries.
const racyWindow = 2 * time.Second

func racy(mtime int64) bool { return time.Since(time.Unix(0, mtime)) < racyWindow }

func statOf(fi fs.FileInfo) (size, mtime int64, ino uint64) {
	return fi.Size(), fi.ModTime().UnixNano(), inode(fi)
}

// check reports whether the stamp still holds. refreshed is a copy with the
// new metadata when only the metadata changed, so the next check is a stat
// again.
func (s stamp) check() (ok bool, refreshed stamp) {
	fi, err := os.Stat(s.Path)
	if s.Kind == stampAbsent {
		return errors.Is(err, fs.ErrNotExist), s
	}
	if err != nil {
		return false, s
	}
	size, mtime, ino := statOf(fi)
	if size == s.Size && mtime == s.MTime && ino == s.Ino {
		return true, s
	}
	var sum string
	switch s.Kind {
	case stampFile:
		if size != s.Size {
			return false, s
		}
		sum, err = fileSum(s.Path)
	case stampDir:
		sum, err = dirSum(s.Path, s.Embed)
	default:
		return false, s
	}
	if err != nil || sum != s.Sum {
		return false, s
	}
	s.Size, s.MTime, s.Ino = size, mtime, ino
	if racy(mtime) {
		s.MTime = 0
	}
	return true, s
}

func fileSum(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// buildExts are the file name extensions the go command builds from; a new
// or removed file with one of them changes a package.
var buildExts = []string{
	".go", ".c", ".cc", ".cpp", ".cxx", ".m", ".h", ".hh", ".hpp", ".hxx",
	".s", ".S", ".sx", ".f", ".F", ".for", ".f90", ".swig", ".swigcxx", ".syso",
}

// dirSum hashes the names in dir that can change a build: source files, a
// go.mod that would make it a module of its own, and for embed directories
// every name. Editor droppings (.swp, ~ files) do not count, so saving a
// file in vim does not look like a new file.
func dirSum(dir string, embed bool) (string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return "", err
	}
	var names []string
	for _, e := range ents {
		n := e.Name()
		if embed || n == "go.mod" {
			names = append(names, n)
			continue
		}
		if strings.HasPrefix(n, ".") || strings.HasPrefix(n, "_") || e.IsDir() {
			continue
		}
		for _, ext := range buildExts {
			if strings.HasSuffix(n, ext) {
				names = append(names, n)
				break
			}
		}
	}
	sort.Strings(names)
	h := sha256.New()
	for _, n := range names {
		h.Write([]byte(n + "\x00"))
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
