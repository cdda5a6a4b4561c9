package watch

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"

	gitconfig "github.com/go-git/go-git/v5/plumbing/format/config"
)

// Why not go-git's gitignore matcher (plumbing/format/gitignore): on the
// fixture in testdata/gitignore.txtar it disagrees with `git check-ignore`
// on 14 of 153 paths (go-git v5.19.3), where users notice. A pattern without a slash matches any element of the
// path, so the common "*" + "!*/" + "!*.go" whitelist re-includes every
// file in a subdirectory; a negation re-includes a file whose directory is
// excluded (git never does); "[!x]" is not a negated class; "foo/**" also
// excludes foo itself. Parsing is small, so toil follows git's dir.c and
// wildmatch.c instead, and the tests hold it to `git check-ignore`. go-git
// still reads git's config files, for core.excludesFile.

// pattern is one line of an ignore file, parsed as git's parse_path_pattern
// does.
type pattern struct {
	glob     string // without the "!", the trailing '/' and a leading '/'
	base     string // directory of the file it came from, repo-relative; "" is the top
	negative bool   // "!pattern": re-include
	dirOnly  bool   // "pattern/": directories only
	basename bool   // no '/' inside: matched against the last path element, at any depth
}

// parseIgnore parses the contents of an ignore file whose patterns are
// relative to base.
func parseIgnore(data []byte, base string) []pattern {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")) // git skips a UTF-8 BOM
	var ps []pattern
	for line := range strings.SplitSeq(string(data), "\n") {
		line = strings.TrimSuffix(line, "\r")
		if line == "" || line[0] == '#' {
			continue
		}
		line = trimTrailingSpaces(line)
		p := pattern{base: base}
		if strings.HasPrefix(line, "!") {
			p.negative = true
			line = line[1:]
		}
		if strings.HasSuffix(line, "/") {
			p.dirOnly = true
			line = line[:len(line)-1]
		}
		if line == "" {
			continue // "/" or "!" alone matches nothing
		}
		p.basename = !strings.Contains(line, "/")
		p.glob = strings.TrimPrefix(line, "/")
		ps = append(ps, p)
	}
	return ps
}

// trimTrailingSpaces drops trailing spaces unless escaped by a backslash
// ("foo\ " keeps one space), as git's trim_trailing_spaces; tabs stay.
func trimTrailingSpaces(s string) string {
	lastSpace := -1
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case ' ':
			if lastSpace < 0 {
				lastSpace = i
			}
		case '\\':
			i++
			if i == len(s) {
				return s
			}
			lastSpace = -1
		default:
			lastSpace = -1
		}
	}
	if lastSpace >= 0 {
		return s[:lastSpace]
	}
	return s
}

// matches reports whether the pattern applies to the repo-relative path,
// whose last element is name.
func (p *pattern) matches(path, name string, isDir bool) bool {
	if p.dirOnly && !isDir {
		return false
	}
	if p.basename {
		return wildmatch(p.glob, name, false)
	}
	if p.base != "" {
		if !strings.HasPrefix(path, p.base) || len(path) <= len(p.base) || path[len(p.base)] != '/' {
			return false
		}
		path = path[len(p.base)+1:]
	}
	return wildmatch(p.glob, path, true)
}

// matcher decides what git ignores in one work tree, and what toil ignores
// on top.
type matcher struct {
	// prefix is the watched root's path inside the repository, "" when
	// the root is the top of the work tree, else ending in '/'.
	prefix string
	// global is core.excludesFile, info is .git/info/exclude; lowest
	// priority, in that order.
	global, info []pattern
	// dirs are the .gitignore files read so far, by repo-relative
	// directory ("" is the top).
	dirs map[string][]pattern
	// extra are toil's own ignores and Options.Ignore; they win over git
	// (git's command-line excludes have the same place).
	extra []pattern
}

// ignored reports whether a path relative to the watched root is ignored.
// An excluded directory hides everything in it, whatever later patterns
// say: git cannot re-include a file whose directory is excluded, and does
// not read .gitignore files inside one.
func (m *matcher) ignored(rel string, isDir bool) bool {
	full := m.prefix + rel
	for i := len(m.prefix); i < len(full); i++ {
		if full[i] == '/' && m.excluded(full[:i], true) {
			return true
		}
	}
	return m.excluded(full, isDir)
}

// excluded applies the pattern lists to one repo-relative path in git's
// order: toil's own first, then the .gitignore files from the path's
// directory up to the top, then info/exclude, then the global file; within
// a list the last matching line decides.
func (m *matcher) excluded(path string, isDir bool) bool {
	name := path[strings.LastIndexByte(path, '/')+1:]
	if v, ok := lastMatch(m.extra, path, name, isDir); ok {
		return v
	}
	dir := path
	for {
		i := strings.LastIndexByte(dir, '/')
		if i < 0 {
			dir = ""
		} else {
			dir = dir[:i]
		}
		if v, ok := lastMatch(m.dirs[dir], path, name, isDir); ok {
			return v
		}
		if dir == "" {
			break
		}
	}
	if v, ok := lastMatch(m.info, path, name, isDir); ok {
		return v
	}
	v, _ := lastMatch(m.global, path, name, isDir)
	return v
}

func lastMatch(ps []pattern, path, name string, isDir bool) (excluded, ok bool) {
	for i := len(ps) - 1; i >= 0; i-- {
		if ps[i].matches(path, name, isDir) {
			return !ps[i].negative, true
		}
	}
	return false, false
}

// readDir loads the .gitignore of a directory relative to the watched
// root, replacing what was read there before.
func (m *matcher) readDir(abs, rel string) {
	key := strings.TrimSuffix(m.prefix+rel, "/")
	data, err := os.ReadFile(filepath.Join(abs, ".gitignore"))
	if err != nil {
		delete(m.dirs, key) // none (or unreadable, which git skips too)
		return
	}
	m.dirs[key] = parseIgnore(data, key)
}

// alwaysIgnored is what toil never watches: git's own database anywhere,
// and toil's output directory at the root.
var alwaysIgnored = []string{".git", "/.toil/"}

// newMatcher finds the repository around root and reads everything git
// would apply there except the .gitignore files at and below root, which
// the walk reads as it enters each directory. Without a repository the
// global excludes and the .gitignore files still apply: toil new creates
// them before the first commit. getenv reads HOME, XDG_CONFIG_HOME and
// GIT_CONFIG_NOSYSTEM.
func newMatcher(root string, extra []string, getenv func(string) string) *matcher {
	m := &matcher{dirs: map[string][]pattern{}}
	top, gitDir := findRepo(root)
	var repoConfig string
	if top != "" {
		if rel, err := filepath.Rel(top, root); err == nil && rel != "." {
			m.prefix = filepath.ToSlash(rel) + "/"
		}
		common := commonDir(gitDir)
		if data, err := os.ReadFile(filepath.Join(common, "info", "exclude")); err == nil {
			m.info = parseIgnore(data, "")
		}
		repoConfig = filepath.Join(common, "config")
		// The .gitignore files between the top and root apply too.
		if m.prefix != "" {
			dir, key := top, ""
			for _, elem := range strings.Split(strings.TrimSuffix(m.prefix, "/"), "/") {
				if data, err := os.ReadFile(filepath.Join(dir, ".gitignore")); err == nil {
					m.dirs[key] = parseIgnore(data, key)
				}
				dir = filepath.Join(dir, elem)
				key = strings.TrimPrefix(key+"/"+elem, "/")
			}
		}
	}
	if path := excludesFile(repoConfig, getenv); path != "" {
		if data, err := os.ReadFile(path); err == nil {
			m.global = parseIgnore(data, "")
		}
	}
	base := strings.TrimSuffix(m.prefix, "/")
	for _, line := range append(alwaysIgnored[:len(alwaysIgnored):len(alwaysIgnored)], extra...) {
		m.extra = append(m.extra, parseIgnore([]byte(line), base)...)
	}
	return m
}

// findRepo returns the top of the work tree holding dir and its git
// directory, or "" when dir is in none.
func findRepo(dir string) (top, gitDir string) {
	for d := dir; ; {
		g := filepath.Join(d, ".git")
		if fi, err := os.Lstat(g); err == nil {
			if fi.IsDir() {
				return d, g
			}
			// A worktree or submodule: ".git" is a file naming the
			// git directory.
			if data, err := os.ReadFile(g); err == nil {
				if s, ok := strings.CutPrefix(strings.TrimSpace(string(data)), "gitdir:"); ok {
					s = strings.TrimSpace(s)
					if !filepath.IsAbs(s) {
						s = filepath.Join(d, s)
					}
					return d, s
				}
			}
		}
		parent := filepath.Dir(d)
		if parent == d {
			return "", ""
		}
		d = parent
	}
}

// commonDir is where a worktree's shared files (info/exclude, config)
// live: named by its commondir file, else the git directory itself.
func commonDir(gitDir string) string {
	data, err := os.ReadFile(filepath.Join(gitDir, "commondir"))
	if err != nil {
		return gitDir
	}
	c := strings.TrimSpace(string(data))
	if !filepath.IsAbs(c) {
		c = filepath.Join(gitDir, c)
	}
	return c
}

// excludesFile returns the global ignore file git would read: the last
// core.excludesFile among the system, global and repository config files,
// else $XDG_CONFIG_HOME/git/ignore. [include] directives are not followed.
func excludesFile(repoConfig string, getenv func(string) string) string {
	home := getenv("HOME")
	xdg := getenv("XDG_CONFIG_HOME")
	if xdg == "" && home != "" {
		xdg = filepath.Join(home, ".config")
	}
	var files []string
	if v := strings.ToLower(getenv("GIT_CONFIG_NOSYSTEM")); v == "" || v == "0" || v == "false" || v == "no" || v == "off" {
		files = append(files, "/etc/gitconfig")
	}
	if xdg != "" {
		files = append(files, filepath.Join(xdg, "git", "config"))
	}
	if home != "" {
		files = append(files, filepath.Join(home, ".gitconfig"))
	}
	if repoConfig != "" {
		files = append(files, repoConfig)
	}
	path := ""
	for _, f := range files {
		if v := configValue(f, "core", "excludesfile"); v != "" {
			path = v
		}
	}
	if path == "" {
		if xdg == "" {
			return ""
		}
		return filepath.Join(xdg, "git", "ignore")
	}
	if rest, ok := strings.CutPrefix(path, "~/"); ok && home != "" {
		path = filepath.Join(home, rest)
	}
	return path
}

// configValue reads one key of a git config file, "" if it is not set or
// the file cannot be read.
func configValue(file, section, key string) string {
	data, err := os.ReadFile(file)
	if err != nil {
		return ""
	}
	cfg := gitconfig.New()
	if err := gitconfig.NewDecoder(bytes.NewReader(data)).Decode(cfg); err != nil {
		return ""
	}
	if !cfg.HasSection(section) {
		return ""
	}
	return cfg.Section(section).Option(key)
}
