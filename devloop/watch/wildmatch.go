package watch

// This is git's wildmatch (wildmatch.c), the matcher behind .gitignore,
// ported line for line so toil ignores exactly what git ignores. Go's
// path.Match differs where users notice: it reads "[!a]" as a class of '!'
// and 'a' rather than "not a", knows no "[[:digit:]]" classes, and has no
// "**". Case folding is left out: git leaves core.ignoreCase off on Linux.

// wildmatch results, as in git.
const (
	wmMatch           = 0
	wmNoMatch         = 1
	wmAbortAll        = -1
	wmAbortToStarStar = -2
)

// wildmatch reports whether text matches the gitignore glob pattern. With
// pathname set, '*' and '?' stop at '/', and "**" between slashes spans
// directories (git's WM_PATHNAME).
func wildmatch(pattern, text string, pathname bool) bool {
	return dowild(pattern, text, pathname) == wmMatch
}

// at returns s[i], or 0 past the end: the C original walks NUL-terminated
// strings and relies on reading that NUL.
func at(s string, i int) byte {
	if i < len(s) {
		return s[i]
	}
	return 0
}

func isGlobSpecial(c byte) bool {
	return c == '*' || c == '?' || c == '[' || c == '\\'
}

func dowild(pat, text string, pathname bool) int {
	p, t := 0, 0
	for ; at(pat, p) != 0; t, p = t+1, p+1 {
		pch := pat[p]
		tch := at(text, t)
		if tch == 0 && pch != '*' {
			return wmAbortAll
		}
		switch pch {
		case '\\':
			// A literal match with the next character; a trailing
			// backslash compares with NUL and fails below.
			p++
			pch = at(pat, p)
			if tch != pch {
				return wmNoMatch
			}
			continue
		default:
			if tch != pch {
				return wmNoMatch
			}
			continue
		case '?':
			if pathname && tch == '/' {
				return wmNoMatch
			}
			continue
		case '*':
			var matchSlash bool
			p++
			if at(pat, p) == '*' {
				prev := p - 2
				for p++; at(pat, p) == '*'; p++ {
				}
				if (prev < 0 || pat[prev] == '/') &&
					(at(pat, p) == 0 || at(pat, p) == '/' ||
						(at(pat, p) == '\\' && at(pat, p+1) == '/')) {
					// "**/" may also match no directory at all: try
					// the rest of the pattern right here first.
					if at(pat, p) == '/' && dowild(pat[p+1:], text[t:], pathname) == wmMatch {
						return wmMatch
					}
					matchSlash = true
				} else {
					matchSlash = false
				}
			} else {
				// Without pathname, '*' is '**'.
				matchSlash = !pathname
			}
			if at(pat, p) == 0 {
				// A trailing "**" matches everything; a trailing '*'
				// only what has no more slashes.
				if !matchSlash {
					for i := t; i < len(text); i++ {
						if text[i] == '/' {
							return wmNoMatch
						}
					}
				}
				return wmMatch
			} else if !matchSlash && at(pat, p) == '/' {
				// One '*' then '/' matches up to the next slash,
				// which the loop's step then consumes.
				i := t
				for i < len(text) && text[i] != '/' {
					i++
				}
				if i == len(text) {
					return wmNoMatch
				}
				t = i
				// The for loop's post statement advances both; the
				// pattern's '/' matches the text's '/'.
				continue
			}
			for {
				if tch == 0 {
					break
				}
				// Skip ahead to the literal that follows the star: what
				// comes before it belongs to the star.
				if !isGlobSpecial(at(pat, p)) {
					pch = at(pat, p)
					for {
						tch = at(text, t)
						if tch == 0 || (!matchSlash && tch == '/') {
							break
						}
						if tch == pch {
							break
						}
						t++
					}
					if tch != pch {
						return wmNoMatch
					}
				}
				if m := dowild(pat[p:], text[t:], pathname); m != wmNoMatch {
					if !matchSlash || m != wmAbortToStarStar {
						return m
					}
				} else if !matchSlash && tch == '/' {
					return wmAbortToStarStar
				}
				t++
				tch = at(text, t)
			}
			return wmAbortAll
		case '[':
			p++
			pch = at(pat, p)
			if pch == '^' {
				pch = '!'
			}
			negated := pch == '!'
			if negated {
				p++
				pch = at(pat, p)
			}
			var prev byte
			matched := false
			for {
				if pch == 0 {
					return wmAbortAll
				}
				if pch == '\\' {
					p++
					pch = at(pat, p)
					if pch == 0 {
						return wmAbortAll
					}
					if tch == pch {
						matched = true
					}
				} else if pch == '-' && prev != 0 && at(pat, p+1) != 0 && at(pat, p+1) != ']' {
					p++
					pch = at(pat, p)
					if pch == '\\' {
						p++
						pch = at(pat, p)
						if pch == 0 {
							return wmAbortAll
						}
					}
					if tch <= pch && tch >= prev {
						matched = true
					}
					pch = 0 // so prev becomes 0: a range cannot start a range
				} else if pch == '[' && at(pat, p+1) == ':' {
					p += 2
					s := p
					for at(pat, p) != 0 && at(pat, p) != ']' {
						p++
					}
					if at(pat, p) == 0 {
						return wmAbortAll
					}
					n := p - s - 1
					if n < 0 || pat[p-1] != ':' {
						// No ":]": a plain '[' in the set.
						p = s - 2
						pch = '['
						if tch == pch {
							matched = true
						}
					} else {
						in, ok := charClass(pat[s:s+n], tch)
						if !ok {
							return wmAbortAll // a malformed [:class:]
						}
						if in {
							matched = true
						}
						pch = 0
					}
				} else if tch == pch {
					matched = true
				}
				prev = pch
				p++
				pch = at(pat, p)
				if pch == ']' {
					break
				}
			}
			if matched == negated || (pathname && tch == '/') {
				return wmNoMatch
			}
			continue
		}
	}
	if t < len(text) {
		return wmNoMatch
	}
	return wmMatch
}

// charClass reports whether c is in the POSIX class named name, and whether
// git knows the class.
func charClass(name string, c byte) (in, ok bool) {
	lower := c >= 'a' && c <= 'z'
	upper := c >= 'A' && c <= 'Z'
	digit := c >= '0' && c <= '9'
	alpha := lower || upper
	space := c == ' ' || (c >= '\t' && c <= '\r')
	graph := c > ' ' && c < 0x7f
	switch name {
	case "alnum":
		return alpha || digit, true
	case "alpha":
		return alpha, true
	case "blank":
		return c == ' ' || c == '\t', true
	case "cntrl":
		return c < ' ' || c == 0x7f, true
	case "digit":
		return digit, true
	case "graph":
		return graph, true
	case "lower":
		return lower, true
	case "print":
		return graph || c == ' ', true
	case "punct":
		return graph && !alpha && !digit, true
	case "space":
		return space, true
	case "upper":
		return upper, true
	case "xdigit":
		return digit || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'), true
	}
	return false, false
}
