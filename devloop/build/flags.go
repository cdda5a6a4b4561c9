package build

import (
	"errors"
	"strings"
)

// stripFlags are what toil adds to the linker flags of a dev build: no
// DWARF (-w) and no symbol table (-s). Stack traces and panics keep their
// function names and lines (those come from pclntab); a debugger gets
// nothing, hence Options.Debug.
const stripFlags = "-s -w"

// devLDFlags returns the -ldflags argument of a dev build and the rest of
// flags. The go command takes the last -ldflags and drops any other, so
// one given in GOFLAGS or flags is kept and -s -w added to it. A
// per-package form (-ldflags=pattern=...) is left as it is, unstripped:
// merging into it could change which packages it applies to.
func devLDFlags(goflags, flags []string, debug bool) (ld, rest []string) {
	var val string
	var have, ours bool
	for _, f := range goflags {
		if v, ok := ldflagsValue(f); ok {
			val, have = v, true
		}
	}
	for i := 0; i < len(flags); i++ {
		f := flags[i]
		if v, ok := ldflagsValue(f); ok {
			val, have, ours = v, true, true
			continue
		}
		if (f == "-ldflags" || f == "--ldflags") && i+1 < len(flags) {
			val, have, ours = flags[i+1], true, true
			i++
			continue
		}
		rest = append(rest, f)
	}
	switch {
	case have && val != "" && !strings.HasPrefix(val, "-"):
		// pattern=flags
		if ours {
			return []string{"-ldflags=" + val}, rest
		}
		return nil, rest
	case debug && ours:
		return []string{"-ldflags=" + val}, rest
	case debug:
		return nil, rest
	}
	return []string{"-ldflags=" + strings.TrimSpace(val+" "+stripFlags)}, rest
}

func ldflagsValue(f string) (string, bool) {
	for _, p := range []string{"-ldflags=", "--ldflags="} {
		if v, ok := strings.CutPrefix(f, p); ok {
			return v, true
		}
	}
	return "", false
}

// splitQuoted splits GOFLAGS as the go command does: at spaces, with a
// word that starts with a quote running to the matching quote.
func splitQuoted(s string) ([]string, error) {
	var words []string
	for {
		s = strings.TrimLeft(s, " \t\n\r")
		if s == "" {
			return words, nil
		}
		if q := s[0]; q == '"' || q == '\'' {
			end := strings.IndexByte(s[1:], q)
			if end < 0 {
				return nil, errors.New("unterminated quoted string")
			}
			words = append(words, s[1:1+end])
			s = s[2+end:]
			if s != "" && !strings.ContainsRune(" \t\n\r", rune(s[0])) {
				return nil, errors.New("quoted string not followed by a space")
			}
			continue
		}
		end := strings.IndexAny(s, " \t\n\r")
		if end < 0 {
			end = len(s)
		}
		words = append(words, s[:end])
		s = s[end:]
	}
}
