package lint

import (
	"bytes"
	"crypto/sha256"
	"debug/elf"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"time"

	"golang.org/x/tools/go/analysis"
)

// CacheEnv names the environment variable that overrides where the findings
// cache lives; "off" disables it.
const CacheEnv = "TOIL_LINT_CACHE"

// CacheOff is the Config.Cache (or $TOIL_LINT_CACHE) value that disables
// the findings cache.
const CacheOff = "off"

// findingsCache remembers each unit's findings, so that a warm run reads
// and hashes files instead of parsing them. An entry's key covers all its
// findings depend on: toil's executable (the analyzers and stubs are
// compiled into it), the analyzers and their flags, the build tags, the
// module (path, directory, go version), the unit's import path and its
// files' names and contents. Units with errors are never cached, so their
// messages are always fresh. Any cache failure is a miss, never an error.
type findingsCache struct {
	dir  string   // "" disables the cache
	base [32]byte // hash of what every key shares
}

// cacheFormat changes whenever the entry format or the key's makeup does.
const cacheFormat = "toil lint findings cache v1"

// Entries unused this long are deleted, checked at most once per trimEvery.
const (
	trimAge   = 5 * 24 * time.Hour
	trimEvery = 24 * time.Hour
	// touchAge: a hit refreshes an entry's mtime only when it is older than
	// this, to avoid a write per hit.
	touchAge = time.Hour
)

// cacheDir resolves Config.Cache: "" means $TOIL_LINT_CACHE, else
// os.UserCacheDir()/toil/lint. It returns "" when caching is off or no
// directory is usable.
func cacheDir(setting string) string {
	dir := setting
	if dir == "" {
		dir = os.Getenv(CacheEnv)
	}
	if dir == CacheOff {
		return ""
	}
	if dir == "" {
		base, err := os.UserCacheDir()
		if err != nil {
			return ""
		}
		dir = filepath.Join(base, "toil", "lint")
	}
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return ""
	}
	return dir
}

// openCache returns the cache in dir for a run of analyzers with the given
// prefilter setting and build tags; nil when dir is "" or toil's own
// executable cannot be identified.
func openCache(dir string, as []*analysis.Analyzer, tags []string, prefiltered bool) *findingsCache {
	if dir == "" {
		return nil
	}
	exe, err := executableID()
	if err != nil {
		return nil
	}
	h := sha256.New()
	writeField(h, cacheFormat)
	writeField(h, exe)
	writeField(h, runtime.GOOS+"/"+runtime.GOARCH)
	writeField(h, strconv.FormatBool(prefiltered))
	writeField(h, strconv.Itoa(len(tags)))
	for _, t := range tags {
		writeField(h, t)
	}
	writeField(h, strconv.Itoa(len(as)))
	for _, a := range as {
		writeField(h, a.Name)
		a.Flags.VisitAll(func(f *flag.Flag) {
			writeField(h, f.Name+"="+f.Value.String())
		})
		writeField(h, "") // end of this analyzer's flags
	}
	c := &findingsCache{dir: dir}
	h.Sum(c.base[:0])
	c.trim()
	return c
}

// writeField writes s length-prefixed, so that no two field lists hash alike.
func writeField(h hash.Hash, s string) {
	var n [8]byte
	binary.LittleEndian.PutUint64(n[:], uint64(len(s)))
	h.Write(n[:])
	io.WriteString(h, s)
}

// key returns the cache key of unit u of module m, whose files' contents
// are in contents.
func (c *findingsCache) key(u unit, m module, contents map[string][]byte) [32]byte {
	h := sha256.New()
	h.Write(c.base[:])
	writeField(h, m.Path)
	writeField(h, m.Dir)
	writeField(h, m.GoVersion)
	writeField(h, u.id)
	writeField(h, u.importPath)
	writeField(h, strconv.Itoa(len(u.files)))
	for _, name := range u.files {
		writeField(h, name)
		sum := sha256.Sum256(contents[name])
		h.Write(sum[:])
	}
	var k [32]byte
	h.Sum(k[:0])
	return k
}

func (c *findingsCache) path(key [32]byte) string {
	s := hex.EncodeToString(key[:])
	return filepath.Join(c.dir, s[:2], s)
}

// cacheEntry is what an entry file holds.
type cacheEntry struct {
	Findings []Finding
}

// get returns the findings stored under key.
func (c *findingsCache) get(key [32]byte) ([]Finding, bool) {
	p := c.path(key)
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, false
	}
	var e cacheEntry
	if err := json.Unmarshal(b, &e); err != nil {
		return nil, false // torn or foreign: recompute, and put overwrites it
	}
	if fi, err := os.Stat(p); err == nil && time.Since(fi.ModTime()) > touchAge {
		now := time.Now()
		os.Chtimes(p, now, now) // best effort: keeps the entry from being trimmed
	}
	return e.Findings, true
}

// put stores findings under key, atomically: a concurrent run reads the
// old entry, the new one or none.
func (c *findingsCache) put(key [32]byte, findings []Finding) {
	b, err := json.Marshal(cacheEntry{Findings: findings})
	if err != nil {
		return
	}
	p := c.path(key)
	if err := os.MkdirAll(filepath.Dir(p), 0o777); err != nil {
		return
	}
	f, err := os.CreateTemp(filepath.Dir(p), ".tmp-*")
	if err != nil {
		return
	}
	_, werr := f.Write(b)
	cerr := f.Close()
	if werr != nil || cerr != nil || os.Rename(f.Name(), p) != nil {
		os.Remove(f.Name())
	}
}

// trim deletes entries unused for trimAge, at most once per trimEvery, as
// the go command does with its build cache.
func (c *findingsCache) trim() {
	stamp := filepath.Join(c.dir, "trim.txt")
	if fi, err := os.Stat(stamp); err == nil && time.Since(fi.ModTime()) < trimEvery {
		return
	}
	// Write the stamp first: a concurrent run then skips the walk.
	if err := os.WriteFile(stamp, []byte(time.Now().UTC().Format(time.RFC3339)+"\n"), 0o666); err != nil {
		return
	}
	cutoff := time.Now().Add(-trimAge)
	filepath.WalkDir(c.dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || path == stamp {
			return nil
		}
		if fi, err := d.Info(); err == nil && fi.ModTime().Before(cutoff) {
			os.Remove(path)
		}
		return nil
	})
}

// executableID identifies the running toil binary's contents: its Go build
// ID when it has one (the go command derives it from the binary's
// contents), else a hash of the whole file.
var executableID = sync.OnceValues(func() (string, error) {
	exe, err := os.Executable()
	if err != nil {
		return "", err
	}
	if id := elfBuildID(exe); id != "" {
		return "buildid " + id, nil
	}
	f, err := os.Open(exe)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("hash %s: %w", exe, err)
	}
	return "sha256 " + hex.EncodeToString(h.Sum(nil)), nil
})

// elfBuildID reads the Go build ID note of an ELF executable, "" if none.
func elfBuildID(path string) string {
	f, err := elf.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	sec := f.Section(".note.go.buildid")
	if sec == nil {
		return ""
	}
	b, err := sec.Data()
	if err != nil || len(b) < 16 {
		return ""
	}
	bo := f.ByteOrder
	nameSize, descSize, typ := bo.Uint32(b[0:]), bo.Uint32(b[4:]), bo.Uint32(b[8:])
	const goBuildIDTag = 4
	if nameSize != 4 || typ != goBuildIDTag || !bytes.Equal(b[12:16], []byte("Go\x00\x00")) || uint64(16)+uint64(descSize) > uint64(len(b)) {
		return ""
	}
	id := string(b[16 : 16+descSize])
	if id == "" {
		return ""
	}
	return id
}
