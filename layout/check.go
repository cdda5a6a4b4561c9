package layout

import (
	"errors"
	"fmt"
	"path"
	"regexp"
	"strconv"
	"strings"
	"unicode"
)

var nameRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]*[a-z0-9])?$`)

// validName reports whether s can name a layout, service or backing
// system: an RFC 1123 label, which systemd unit names, Kubernetes objects
// and environment variable suffixes all accept.
func validName(s string) bool { return len(s) <= 63 && nameRE.MatchString(s) }

// nameFix suggests a valid spelling of an invalid name, as `, like "x"`.
func nameFix(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == '-', r == '_', r == '.', r == ' ':
			b.WriteByte('-')
		}
	}
	fixed := strings.Trim(b.String(), "-")
	if len(fixed) > 63 {
		fixed = strings.Trim(fixed[:63], "-")
	}
	if fixed == "" || fixed == s || !validName(fixed) {
		return ""
	}
	return fmt.Sprintf(", like %q", fixed)
}

// checkRun explains what is wrong with a run: PKG.NAME, or returns "". The
// rules are toil run's: split at the last dot, so import paths with dots
// work; NAME is a Go identifier, matched case-insensitively.
func checkRun(s string) string {
	i := strings.LastIndexByte(s, '.')
	if i <= 0 || i == len(s)-1 || strings.ContainsRune(s[i+1:], '/') {
		return "name the package directory and the service in it, like tempest.scorer"
	}
	pkg, name := strings.TrimSuffix(s[:i], "/"), s[i+1:]
	if !isIdent(name) {
		return fmt.Sprintf("%q is not a Go identifier", name)
	}
	if strings.ContainsAny(pkg, " \t\\:") || pkg == "" {
		return fmt.Sprintf("%q is not a package path", pkg)
	}
	return ""
}

func isIdent(s string) bool {
	for i, r := range s {
		if r == '_' || unicode.IsLetter(r) || i > 0 && unicode.IsDigit(r) {
			continue
		}
		return false
	}
	return s != ""
}

// checkMain explains what is wrong with a main: package, or returns "".
func checkMain(s string) string {
	switch {
	case strings.ContainsAny(s, " \t\\"):
		return fmt.Sprintf("%q is not a package path; write it like ./cmd/legacy", s)
	case strings.HasSuffix(s, ".go"):
		return fmt.Sprintf("%q is a file; name its directory, like ./%s", s, path.Dir(strings.TrimPrefix(s, "./")))
	case s == "." || s == "./":
		return "" // the layout's own directory is a main package
	case strings.HasPrefix(s, "../") || s == "..":
		return fmt.Sprintf("%q is outside the directory of toil.yaml; a service's package must be in the module with it", s)
	case strings.HasPrefix(s, "./"):
		if strings.Contains(s, "/../") || strings.HasSuffix(s, "/..") {
			return fmt.Sprintf("%q has .. in it; write the clean path %q", s, "./"+path.Clean(s))
		}
		return ""
	case strings.HasPrefix(s, "/"):
		return fmt.Sprintf("%q is absolute; write it relative to toil.yaml, like ./cmd/legacy", s)
	}
	first, _, _ := strings.Cut(s, "/")
	if strings.Contains(first, ".") {
		return "" // an import path: example.com/tools/cmd/x
	}
	return fmt.Sprintf("%q is neither a ./relative directory nor an import path; write main: ./%s", s, s)
}

// checkRoutePath returns a route path normalized (no trailing slash) and
// what is wrong with it, or "".
func checkRoutePath(s string) (string, string) {
	switch {
	case !strings.HasPrefix(s, "/"):
		return s, fmt.Sprintf("must start with /, like %q", "/"+s)
	case strings.ContainsAny(s, "?# \t"):
		return s, "is not a path: a route matches paths only, not queries, fragments or spaces"
	}
	clean := s
	if len(clean) > 1 {
		clean = strings.TrimSuffix(clean, "/")
	}
	if path.Clean(clean) != clean {
		return clean, fmt.Sprintf("is not a clean path; write %q", path.Clean(clean))
	}
	return clean, ""
}

// checkGlob explains what is wrong with a watch: glob, or returns "".
func checkGlob(g string) string {
	if strings.HasPrefix(g, "/") {
		return "is absolute; write it relative to toil.yaml's directory"
	}
	for _, seg := range strings.Split(g, "/") {
		if seg == ".." {
			return "reaches outside toil.yaml's directory"
		}
		if seg == "**" {
			continue
		}
		if _, err := path.Match(seg, ""); err != nil {
			return "is not a valid glob: check its [ ] brackets and \\ escapes"
		}
	}
	return ""
}

// errShell says why toil does not run command lines through a shell.
var errShell = errors.New("toil runs commands without a shell")

// splitWords splits a command line into words the way a shell would for
// simple commands: spaces separate words, '...' quotes literally, "..."
// quotes with \" and \\ escapes, and \ escapes one character. Pipes,
// redirections, variables and the like are refused: the command runs
// without a shell.
func splitWords(s string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		case c == '\'':
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				return nil, fmt.Errorf("unterminated ' quote at byte %d; close it", i+1)
			}
			cur.WriteString(s[i+1 : i+1+j])
			i += j + 1
			inWord = true
		case c == '"':
			i++
			for ; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '$' || s[i] == '`' {
					return nil, fmt.Errorf("%w, so %q in \"...\" would not expand; use '...' for a literal, or sh -c '...' to use a shell", errShell, string(s[i]))
				}
				if s[i] == '\\' && i+1 < len(s) && (s[i+1] == '"' || s[i+1] == '\\') {
					i++
				}
				cur.WriteByte(s[i])
			}
			if i >= len(s) {
				return nil, fmt.Errorf("unterminated \" quote; close it")
			}
			inWord = true
		case c == '\\':
			if i+1 < len(s) {
				i++
				cur.WriteByte(s[i])
			}
			inWord = true
		case strings.IndexByte("|&;<>()$`*?", c) >= 0:
			return nil, fmt.Errorf("%w, so %q in it would not do what a shell does; quote it, or write sh -c '...' to use a shell", errShell, string(c))
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}

// expandWords splits a command line validated by Parse and replaces {port}.
func expandWords(s string, port int) []string {
	words, _ := splitWords(s)
	for i, w := range words {
		words[i] = strings.ReplaceAll(w, portPlaceholder, strconv.Itoa(port))
	}
	return words
}
