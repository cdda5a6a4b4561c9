package lint

import (
	"strings"

	"github.com/go-git/go-git/v5/utils/diff"
	"github.com/sergi/go-diff/diffmatchpatch"
)

// lineSet holds the 1-based line numbers a change adds to a file.
type lineSet map[int]bool

// addedLines returns the lines of new that are not in old, by a line diff.
// A new file (empty old) adds every line.
func addedLines(old, new string) lineSet {
	added := lineSet{}
	if old == new {
		return added
	}
	line := 1
	for _, d := range diff.Do(old, new) {
		n := countLines(d.Text)
		switch d.Type {
		case diffmatchpatch.DiffEqual:
			line += n
		case diffmatchpatch.DiffInsert:
			for i := 0; i < n; i++ {
				added[line+i] = true
			}
			line += n
		}
	}
	return added
}

// countLines counts lines in s, a last line without newline included.
func countLines(s string) int {
	n := strings.Count(s, "\n")
	if s != "" && !strings.HasSuffix(s, "\n") {
		n++
	}
	return n
}
