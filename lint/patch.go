package lint

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// patchChanges reads a unified diff (git diff, diff -u) and returns the
// lines it adds to each file. Paths in the diff are resolved against the
// git work tree root when dir is in a repository (git diff's paths are),
// else against dir; a/ and b/ prefixes are removed when the path does not
// exist with them.
func patchChanges(dir, patchFile string) (map[string]lineSet, error) {
	b, err := os.ReadFile(patchFile)
	if err != nil {
		return nil, fmt.Errorf("--new-from-patch: %w", err)
	}
	files, err := parsePatch(b)
	if err != nil {
		return nil, fmt.Errorf("--new-from-patch %s: %w", patchFile, err)
	}
	bases := []string{dir}
	if _, root, err := openRepo(dir); err == nil && root != dir {
		bases = []string{root, dir}
	}
	changes := map[string]lineSet{}
	for name, lines := range files {
		if !strings.HasSuffix(name, ".go") {
			continue
		}
		abs := resolvePatchPath(bases, name)
		if changes[abs] == nil {
			changes[abs] = lineSet{}
		}
		for l := range lines {
			changes[abs][l] = true
		}
	}
	return changes, nil
}

func resolvePatchPath(bases []string, name string) string {
	candidates := []string{name}
	if rest, ok := strings.CutPrefix(name, "b/"); ok {
		candidates = append(candidates, rest)
	}
	for _, c := range candidates {
		for _, base := range bases {
			p := filepath.Join(base, filepath.FromSlash(c))
			if filepath.IsAbs(c) {
				p = filepath.Clean(c)
			}
			if _, err := os.Stat(p); err == nil {
				return p
			}
		}
	}
	// Nothing on disk: keep the likeliest name; it matches no package.
	return filepath.Join(bases[0], filepath.FromSlash(candidates[len(candidates)-1]))
}

// parsePatch returns, for each new-side file name of a unified diff, the
// line numbers its hunks add.
func parsePatch(b []byte) (map[string]lineSet, error) {
	files := map[string]lineSet{}
	var (
		cur           lineSet
		newLine, left int // next new-side line; new-side lines left in the hunk
		oldLeft       int
		lineNo        int
		inHunk        bool
	)
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 64*1024), 16*1024*1024)
	for sc.Scan() {
		lineNo++
		text := sc.Text()
		if inHunk && (left > 0 || oldLeft > 0) {
			switch {
			case strings.HasPrefix(text, "+"):
				if cur != nil {
					cur[newLine] = true
				}
				newLine++
				left--
				continue
			case strings.HasPrefix(text, "-"):
				oldLeft--
				continue
			case strings.HasPrefix(text, " ") || text == "":
				newLine++
				left--
				oldLeft--
				continue
			case strings.HasPrefix(text, `\`): // "\ No newline at end of file"
				continue
			}
		}
		inHunk = false
		switch {
		case strings.HasPrefix(text, "+++ "):
			name := strings.TrimPrefix(text, "+++ ")
			if i := strings.IndexByte(name, '\t'); i >= 0 {
				name = name[:i] // diff -u appends a timestamp
			}
			if uq, err := strconv.Unquote(name); err == nil {
				name = uq
			}
			if name == "/dev/null" {
				cur = nil
				continue
			}
			if files[name] == nil {
				files[name] = lineSet{}
			}
			cur = files[name]
		case strings.HasPrefix(text, "@@ "):
			var err error
			oldLeft, newLine, left, err = parseHunkHeader(text)
			if err != nil {
				return nil, fmt.Errorf("line %d: %w", lineNo, err)
			}
			inHunk = true
		}
	}
	return files, sc.Err()
}

// parseHunkHeader parses "@@ -a,b +c,d @@": the old line count, and the
// first new line and new line count.
func parseHunkHeader(h string) (oldCount, newStart, newCount int, err error) {
	fields := strings.Fields(h)
	if len(fields) < 3 || !strings.HasPrefix(fields[1], "-") || !strings.HasPrefix(fields[2], "+") {
		return 0, 0, 0, fmt.Errorf("malformed hunk header %q", h)
	}
	_, oldCount, err = parseRange(fields[1][1:])
	if err != nil {
		return 0, 0, 0, fmt.Errorf("malformed hunk header %q: %w", h, err)
	}
	newStart, newCount, err = parseRange(fields[2][1:])
	if err != nil {
		return 0, 0, 0, fmt.Errorf("malformed hunk header %q: %w", h, err)
	}
	return oldCount, newStart, newCount, nil
}

func parseRange(s string) (start, count int, err error) {
	count = 1
	a, b, ok := strings.Cut(s, ",")
	if start, err = strconv.Atoi(a); err != nil {
		return 0, 0, err
	}
	if ok {
		if count, err = strconv.Atoi(b); err != nil {
			return 0, 0, err
		}
	}
	return start, count, nil
}
