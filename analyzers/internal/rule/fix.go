package rule

import (
	"go/ast"
	"go/token"
	"go/types"
	"sort"

	"golang.org/x/tools/go/analysis"
	"golang.org/x/tools/go/ast/inspector"
)

// DeleteCall returns the fix that deletes the statement made of the call at
// cur, and the imports only it used; nil when there is no safe fix.
//
// A fix is offered only when the call is a whole statement (its result is
// unused), as an expression statement or under defer or go, directly in a
// block or case body. It is refused when the deletion would break the
// build: the call is the last use of a local variable ("declared and not
// used"), or of the "C" import of a cgo file. The statement's lines go
// entirely when nothing else is on them; otherwise only the statement does,
// and trailing comments stay.
func (p *Pass) DeleteCall(file *ast.File, cur inspector.Cursor) []analysis.SuggestedFix {
	call, ok := cur.Node().(*ast.CallExpr)
	if !ok || p.cgo[file] {
		return nil // an edit to cgo's output would land in the build cache
	}
	stmtCur := cur.Parent()
	switch s := stmtCur.Node().(type) {
	case *ast.ExprStmt:
		// ok: the result is discarded
	case *ast.DeferStmt:
		if s.Call != call {
			return nil
		}
	case *ast.GoStmt:
		if s.Call != call {
			return nil
		}
	default:
		return nil // the result is used, or the call is part of something larger
	}
	stmt := stmtCur.Node().(ast.Stmt)
	list, open, close := stmtList(stmtCur.Parent())
	if list == nil {
		return nil // init of if/for/switch, a labeled statement, ...: deleting could leave invalid syntax
	}
	idx := -1
	for i, s := range list {
		if s == stmt {
			idx = i
		}
	}
	if idx < 0 {
		return nil
	}

	uses := p.fileUses(file)
	var dropImports []*ast.ImportSpec
	safe := true
	ast.Inspect(stmt, func(n ast.Node) bool {
		id, ok := n.(*ast.Ident)
		if !ok || !safe {
			return safe
		}
		switch obj := p.TypesInfo.Uses[id].(type) {
		case *types.PkgName:
			if uses.onlyWithin(obj, stmt) {
				spec := importSpec(p.TypesInfo, file, obj)
				if spec == nil || obj.Imported().Path() == "C" {
					safe = false
					return false
				}
				if !containsSpec(dropImports, spec) {
					dropImports = append(dropImports, spec)
				}
			}
		case *types.Var:
			if obj.IsField() || !isBodyLocal(cur, obj) || within(stmt, obj.Pos()) {
				return true
			}
			if uses.onlyWithin(obj, stmt) {
				safe = false // deleting the last use: "declared and not used"
				return false
			}
		}
		return true
	})
	if !safe {
		return nil
	}

	tf := p.Fset.File(stmt.Pos())
	if tf == nil {
		return nil
	}
	before, after := open, close
	if idx > 0 {
		before = list[idx-1].End()
	}
	if idx+1 < len(list) {
		after = list[idx+1].Pos()
	}
	edits := []analysis.TextEdit{p.deleteLines(tf, file, stmt, before, after)}
	edits = append(edits, p.deleteImports(tf, file, dropImports)...)
	return []analysis.SuggestedFix{{Message: "Delete the call", TextEdits: edits}}
}

// stmtList returns the statement list of a block or case body, and the
// positions just before and after it.
func stmtList(c inspector.Cursor) (list []ast.Stmt, open, close token.Pos) {
	switch n := c.Node().(type) {
	case *ast.BlockStmt:
		return n.List, n.Lbrace, n.Rbrace
	case *ast.CaseClause:
		return n.Body, n.Colon, clauseEnd(c, n)
	case *ast.CommClause:
		return n.Body, n.Colon, clauseEnd(c, n)
	}
	return nil, token.NoPos, token.NoPos
}

// clauseEnd is where the code after a case clause's body begins: the next
// clause, or the closing brace of the switch or select.
func clauseEnd(c inspector.Cursor, clause ast.Node) token.Pos {
	if next, ok := c.NextSibling(); ok {
		return next.Node().Pos()
	}
	if block, ok := c.Parent().Node().(*ast.BlockStmt); ok {
		return block.Rbrace
	}
	return clause.End()
}

// deleteLines deletes node, with its whole lines when nothing but white
// space shares them (before and after are the ends of the neighbouring code).
func (p *Pass) deleteLines(tf *token.File, file *ast.File, node ast.Node, before, after token.Pos) analysis.TextEdit {
	start, end := node.Pos(), node.End()
	first, last := tf.Line(start), tf.Line(end)
	alone := (!before.IsValid() || tf.Line(before) < first) && (!after.IsValid() || tf.Line(after) > last)
	from := tf.LineStart(first)
	to := token.Pos(tf.Base() + tf.Size())
	if last < tf.LineCount() {
		to = tf.LineStart(last + 1)
	}
	if alone {
		// Comments on the statement's lines (other than inside it) stay.
		gs := file.Comments
		i := sort.Search(len(gs), func(i int) bool { return gs[i].End() > from })
		for ; i < len(gs) && gs[i].Pos() < to && alone; i++ {
			for _, c := range gs[i].List {
				if c.End() > from && c.Pos() < to && !within(node, c.Pos()) {
					alone = false
				}
			}
		}
	}
	if !alone {
		return analysis.TextEdit{Pos: start, End: end}
	}
	return analysis.TextEdit{Pos: from, End: to}
}

// deleteImports deletes the import specs, or a whole import declaration
// when all its specs go.
func (p *Pass) deleteImports(tf *token.File, file *ast.File, drop []*ast.ImportSpec) []analysis.TextEdit {
	var edits []analysis.TextEdit
	for _, decl := range file.Decls {
		gd, ok := decl.(*ast.GenDecl)
		if !ok || gd.Tok != token.IMPORT {
			continue
		}
		var mine []int
		for i, s := range gd.Specs {
			if containsSpec(drop, s.(*ast.ImportSpec)) {
				mine = append(mine, i)
			}
		}
		if len(mine) == 0 {
			continue
		}
		if len(mine) == len(gd.Specs) {
			edits = append(edits, p.deleteLines(tf, file, gd, token.NoPos, token.NoPos))
			continue
		}
		for _, i := range mine {
			spec := gd.Specs[i].(*ast.ImportSpec)
			before, after := gd.Lparen, gd.Rparen
			if i > 0 {
				before = gd.Specs[i-1].End()
			}
			if i+1 < len(gd.Specs) {
				after = gd.Specs[i+1].Pos()
			}
			// A comment beside the spec is about the import: it goes too.
			end := spec.End()
			if spec.Comment != nil {
				end = spec.Comment.End()
			}
			edits = append(edits, p.deleteLines(tf, file, span{spec.Pos(), end}, before, after))
		}
	}
	return edits
}

type span struct{ pos, end token.Pos }

func (s span) Pos() token.Pos { return s.pos }
func (s span) End() token.Pos { return s.end }

func within(n ast.Node, p token.Pos) bool { return n.Pos() <= p && p < n.End() }

func containsSpec(specs []*ast.ImportSpec, s *ast.ImportSpec) bool {
	for _, x := range specs {
		if x == s {
			return true
		}
	}
	return false
}

func importSpec(info *types.Info, file *ast.File, pkg *types.PkgName) *ast.ImportSpec {
	for _, spec := range file.Imports {
		if info.PkgNameOf(spec) == pkg {
			return spec
		}
	}
	return nil
}

// isBodyLocal reports whether v is declared inside the body of a function
// enclosing cur: the variables the compiler requires to be used (parameters,
// results and package variables may go unused).
func isBodyLocal(cur inspector.Cursor, v *types.Var) bool {
	for c := range cur.Enclosing((*ast.FuncDecl)(nil), (*ast.FuncLit)(nil)) {
		var body *ast.BlockStmt
		switch fn := c.Node().(type) {
		case *ast.FuncDecl:
			body = fn.Body
		case *ast.FuncLit:
			body = fn.Body
		}
		if body != nil && within(body, v.Pos()) {
			return true
		}
	}
	return false
}

// fileUses indexes, for one file, where each object is used. An assignment
// to a variable does not count: the compiler does not count it either.
type fileUses struct {
	at map[types.Object][]token.Pos
}

func (p *Pass) fileUses(file *ast.File) *fileUses {
	if u, ok := p.uses[file]; ok {
		return u
	}
	u := &fileUses{at: map[types.Object][]token.Pos{}}
	assigned := map[*ast.Ident]bool{}
	ast.Inspect(file, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.AssignStmt:
			if n.Tok == token.ASSIGN {
				for _, lhs := range n.Lhs {
					if id, ok := ast.Unparen(lhs).(*ast.Ident); ok {
						assigned[id] = true
					}
				}
			}
		case *ast.Ident:
			if obj := p.TypesInfo.Uses[n]; obj != nil && !assigned[n] {
				u.at[obj] = append(u.at[obj], n.Pos())
			}
		}
		return true
	})
	if p.uses == nil {
		p.uses = map[*ast.File]*fileUses{}
	}
	p.uses[file] = u
	return u
}

// onlyWithin reports whether every use of obj in the file is inside n.
func (u *fileUses) onlyWithin(obj types.Object, n ast.Node) bool {
	for _, pos := range u.at[obj] {
		if !within(n, pos) {
			return false
		}
	}
	return true
}
