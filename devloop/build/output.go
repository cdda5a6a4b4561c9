package build

import "strings"

// section is the part of the go command's output about one package: its
// "# import/path" header line and what follows, up to the next header.
type section struct {
	pkg  string
	text string // with the header
}

// splitOutput splits what go build printed into what came before any
// package header (errors loading packages, which stop the whole build) and
// the sections of the packages that failed to compile or link.
func splitOutput(out string) (head string, secs []section) {
	var b strings.Builder
	cur := -1
	flush := func() {
		if cur < 0 {
			head = b.String()
		} else {
			secs[cur].text = b.String()
		}
		b.Reset()
	}
	for line := range strings.Lines(out) {
		if pkg, ok := strings.CutPrefix(line, "# "); ok {
			flush()
			pkg, _, _ = strings.Cut(strings.TrimSpace(pkg), " ")
			secs = append(secs, section{pkg: pkg})
			cur = len(secs) - 1
		}
		b.WriteString(line)
	}
	flush()
	return head, secs
}
