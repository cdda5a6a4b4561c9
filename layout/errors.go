package layout

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Error is one problem in a toil.yaml.
type Error struct {
	File string
	// Line and Col are 1-based; 0 when the YAML parser did not say.
	Line, Col int
	// Msg starts with the key's path (services.web.procs) and says what is
	// wrong and how to fix it.
	Msg string
}

// Error is "file:line:col: message", leaving out what is not known.
func (e *Error) Error() string {
	switch {
	case e.Line == 0:
		return fmt.Sprintf("%s: %s", e.File, e.Msg)
	case e.Col == 0:
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	default:
		return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Col, e.Msg)
	}
}

// Errors are all the problems found in one toil.yaml, sorted by position.
// [Parse] and [Load] return them as their error.
type Errors []*Error

// Error is one problem per line.
func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

func (es Errors) sort() {
	slices.SortStableFunc(es, func(a, b *Error) int {
		return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Col, b.Col))
	})
}

// closest is the candidate suggest would name.
func closest(s string, candidates []string) string {
	best, bestD := "", 0
	for _, c := range candidates {
		d := editDistance(strings.ToLower(s), strings.ToLower(c))
		if best == "" || d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

// suggest returns ` (did you mean "x"?)` for the candidate closest to s by
// edit distance, when one is close enough to be a likely typo, else "".
func suggest(s string, candidates []string) string {
	best := closest(s, candidates)
	bestD := editDistance(strings.ToLower(s), strings.ToLower(best))
	// A third of the word, at least one edit and at most three: "prcs"
	// suggests procs, "foo" suggests nothing.
	limit := min(max(len(s)/3, 1), 3)
	if best == "" || bestD > limit {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

// editDistance is the optimal string alignment distance between a and b:
// Levenshtein's insertions, deletions and substitutions, plus swaps of two
// neighbours, the commonest typo ("wbe" for "web").
func editDistance(a, b string) int {
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}
