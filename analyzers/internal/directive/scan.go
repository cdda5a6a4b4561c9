package directive

import (
	"go/ast"
	"go/token"
	"strings"
)

// Found is a directive located in a file, with the lines it covers.
type Found struct {
	Directive
	// Pos and End delimit the comment.
	Pos, End token.Pos
	// From and To are the first and last line (1-based, inclusive) whose
	// findings the directive suppresses.
	From, To int
}

// Covers reports whether the directive suppresses a finding of rule on line.
func (f *Found) Covers(rule string, line int) bool {
	return f.From <= line && line <= f.To && f.Names(rule)
}

// Scan returns the directives in file, in source order. Placement:
//
//   - after code on the same line: that line;
//   - on a line of its own: the next line, and all of the statement,
//     declaration or other syntax that starts there (a whole function when
//     written above "func", the whole file when written above "package");
//   - //toil:file-ignore: the whole file, wherever it is.
//
// Scan is cheap when the file has no directive: it only looks at comments.
func Scan(fset *token.FileSet, file *ast.File) []Found {
	var found []Found
	for _, g := range file.Comments {
		for _, c := range g.List {
			if !maybeDirective(c.Text) {
				continue
			}
			d, ok := Parse(c.Text)
			if !ok {
				continue
			}
			found = append(found, Found{Directive: d, Pos: c.Pos(), End: c.End()})
		}
	}
	if len(found) == 0 {
		return nil
	}
	tf := fset.File(file.Pos())
	if tf == nil {
		return nil
	}
	lines := lineExtents(tf, file)
	for i := range found {
		f := &found[i]
		line := tf.Line(f.Pos)
		switch {
		case f.Kind == FileIgnore:
			f.From, f.To = 1, tf.LineCount()
		case lines.codeBefore(line, tf.Offset(f.Pos)):
			f.From, f.To = line, line
		default:
			f.From, f.To = line, max(line+1, lines.lastLine[line+1])
		}
	}
	return found
}

func maybeDirective(text string) bool {
	body, ok := strings.CutPrefix(text, "//")
	if !ok {
		return false
	}
	body = strings.TrimLeft(body, " ")
	return strings.HasPrefix(body, "toil:") || strings.HasPrefix(body, "nolint")
}

// extents records, per line, where code starts and how far the syntax that
// starts on that line reaches.
type extents struct {
	// firstOffset is the offset of the first token on each line (-1: none seen).
	firstOffset map[int]int
	// lastLine is the last line of the largest node starting on each line.
	lastLine map[int]int
}

func lineExtents(tf *token.File, file *ast.File) extents {
	e := extents{firstOffset: map[int]int{}, lastLine: map[int]int{}}
	note := func(p token.Pos) {
		if !p.IsValid() || int(p) < tf.Base() || int(p) > tf.Base()+tf.Size() {
			return // positions from another file (cgo line directives) or none
		}
		line, off := tf.Line(p), tf.Offset(p)
		if first, ok := e.firstOffset[line]; !ok || off < first {
			e.firstOffset[line] = off
		}
	}
	ast.Inspect(file, func(n ast.Node) bool {
		switch n.(type) {
		case nil:
			return false
		case *ast.CommentGroup, *ast.Comment:
			return false // comments are not code
		}
		start, end := n.Pos(), n.End()
		note(start)
		if end.IsValid() && end > start {
			note(end - 1)
		}
		if inFile(tf, start) && inFile(tf, end) {
			from, to := tf.Line(start), tf.Line(end)
			if to > e.lastLine[from] {
				e.lastLine[from] = to
			}
		}
		return true
	})
	return e
}

func inFile(tf *token.File, p token.Pos) bool {
	return p.IsValid() && int(p) >= tf.Base() && int(p) <= tf.Base()+tf.Size()
}

// codeBefore reports whether some code on line starts before offset.
func (e extents) codeBefore(line, offset int) bool {
	first, ok := e.firstOffset[line]
	return ok && first < offset
}
