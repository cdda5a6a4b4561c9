package lint

import (
	"bytes"
	"errors"
	"fmt"
	"go/ast"
	"go/format"
	"go/parser"
	"go/scanner"
	"go/token"
	"go/types"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/tools/go/ast/astutil"

	"github.com/toilhq/toil/lint/stubs"
)

// Deletion is what one applied fix removed: --fix lists them, so that a
// deliberate print a rule mistook for a leftover does not vanish unseen.
type Deletion struct {
	Finding Finding
	// Text is the deleted statement as it was written, on one line
	// (white space collapsed, long statements shortened with "…").
	Text string
}

// applyFixes applies the first suggested fix of each finding, all or
// nothing: every file's new content is computed first, and files are
// written only when all of them could be.
//
// A fix whose edits overlap an already accepted fix is refused (fixes are
// alternatives to each other only within one finding; across findings they
// must merge cleanly). Each fixed file is type-checked the engine's way
// (against the stubs) and compared with the file as linted: imports the
// fixes left unused are removed, and fixes that together delete the last
// use of a local variable ("declared and not used", which no single fix
// can see) are refused, so a fixed file compiles whenever the original did.
func (e *engine) applyFixes(res *Result) {
	fixes := map[int][]Edit{} // finding index -> the edits of its applied fix
	failed := map[int]string{}
	var taken []Edit
	for i, f := range res.Findings {
		if len(f.Fixes) == 0 {
			continue
		}
		fix := f.Fixes[0]
		conflict := false
		for _, ed := range fix.Edits {
			for _, other := range taken {
				if other != ed && overlaps(ed, other) { // the same edit from two findings applies once
					conflict = true
				}
			}
		}
		if conflict {
			failed[i] = "its edits conflict with another fix in the same place; run --fix again"
			continue
		}
		taken = append(taken, fix.Edits...)
		fixes[i] = fix.Edits
	}

	out, err := e.fixedFiles(fixes, failed)
	var written map[string]bool
	if err == nil {
		written, err = writeAll(out)
	}
	if err != nil {
		// Only fixes whose every file was written count as applied (none,
		// unless renaming failed half way).
		for i, edits := range fixes {
			if !slices.ContainsFunc(edits, func(ed Edit) bool { return !written[ed.Filename] }) {
				continue
			}
			failed[i] = err.Error()
			delete(fixes, i)
		}
	}
	for _, name := range sortedKeys(written) {
		res.FixedFiles = append(res.FixedFiles, name)
	}

	var remaining []Finding
	for i, f := range res.Findings {
		if edits, ok := fixes[i]; ok {
			res.Fixed = append(res.Fixed, f)
			res.Deleted = append(res.Deleted, Deletion{Finding: f, Text: e.deletedText(f, edits)})
			continue
		}
		if reason, ok := failed[i]; ok {
			res.FixFailures = append(res.FixFailures, FixFailure{Finding: f, Reason: reason})
		}
		remaining = append(remaining, f)
	}
	res.Findings = remaining
}

// fixedFiles returns the new content of every file the fixes edit. Fixes it
// refuses are removed from fixes, with the reason in failed. An error means
// some file could not be fixed at all, and nothing may be written.
func (e *engine) fixedFiles(fixes map[int][]Edit, failed map[int]string) (out map[string][]byte, err error) {
	defer func() {
		// A bug here must not leave half the files written: nothing is yet.
		if r := recover(); r != nil {
			out, err = nil, fmt.Errorf("internal error computing fixes (nothing written): %v\n%s", r, debug.Stack())
		}
	}()
	byFile := map[string][]int{} // file -> the findings whose fixes edit it
	for i, edits := range fixes {
		for _, ed := range edits {
			if !slices.Contains(byFile[ed.Filename], i) {
				byFile[ed.Filename] = append(byFile[ed.Filename], i)
			}
		}
	}
	for _, is := range byFile {
		slices.Sort(is) // findings are sorted by position: source order
	}
	before := map[string]*fileCheck{}
	for _, name := range sortedKeys(byFile) {
		linted, ok := e.linted[name] // the workers that fill it are done
		if !ok {
			return nil, fmt.Errorf("nothing written: the linted content of %s is unknown", name)
		}
		onDisk, err := os.ReadFile(name)
		if err != nil {
			return nil, fmt.Errorf("nothing written: %w", err)
		}
		if !bytes.Equal(onDisk, linted) {
			return nil, fmt.Errorf("nothing written: %s differs from what was linted (unstaged changes?); stage it or fix it by hand, then run --fix again", name)
		}
		fc, err := checkFile(name, linted)
		if err != nil {
			return nil, fmt.Errorf("nothing written: %s: %w", name, err)
		}
		before[name] = fc
	}

	// Refusing a fix can only remove edits, so this ends: each round either
	// refuses at least one fix or accepts every file.
	for {
		out = map[string][]byte{}
		refused := false
		for _, name := range sortedKeys(byFile) {
			var live []int
			var edits []Edit
			for _, i := range byFile[name] {
				if _, ok := fixes[i]; !ok {
					continue
				}
				live = append(live, i)
				for _, ed := range fixes[i] {
					if ed.Filename == name && !slices.Contains(edits, ed) {
						edits = append(edits, ed)
					}
				}
			}
			if len(live) == 0 {
				continue
			}
			src := e.linted[name]
			fixed, unused, err := fixFile(name, src, edits, before[name])
			if err != nil {
				return nil, fmt.Errorf("nothing written: %s: %w", name, err)
			}
			if len(unused) == 0 {
				out[name] = fixed
				continue
			}
			// Refuse the last fix that deletes a use of a variable left
			// unused, and try again: keeping one use is enough, and the
			// other fixes still apply. If no fix visibly mentions one,
			// refuse them all.
			guilty := live
			for j := len(live) - 1; j >= 0; j-- {
				if mentionsAny(src, fixes[live[j]], name, unused) {
					guilty = live[j : j+1]
					break
				}
			}
			reason := fmt.Sprintf("with the other fixes in this file, deleting it would leave %s declared and not used; delete it by hand", strings.Join(unused, ", "))
			for _, i := range guilty {
				delete(fixes, i)
				failed[i] = reason
			}
			refused = true
		}
		if !refused {
			return out, nil
		}
	}
}

// fileCheck is what a type-check of one file says about the names the
// compiler requires to be used.
type fileCheck struct {
	// unusedVars counts "declared and not used" errors by variable name.
	unusedVars map[string]int
	// importUses counts the uses of each import's package name.
	importUses map[importKey]int
	// unusedImports are the imports go/types reports unused; it only can
	// for stubbed packages, and is the only judge of dot imports.
	unusedImports map[importKey]bool
	file          *ast.File
	fset          *token.FileSet
}

// importKey identifies an import within a file: its path and the name it
// is given ("" for the package's own name).
type importKey struct{ name, path string }

func keyOf(spec *ast.ImportSpec) importKey {
	k := importKey{path: importPath(spec)}
	if spec.Name != nil {
		k.name = spec.Name.Name
	}
	return k
}

func importPath(spec *ast.ImportSpec) string {
	p, err := strconv.Unquote(spec.Path.Value)
	if err != nil {
		return spec.Path.Value
	}
	return p
}

// checkFile parses and type-checks src on its own, against the stubs, the
// way the engine checks packages. One file is enough for what it is asked:
// a local variable lives in one function and an import in one file, and
// whatever the missing rest of the package makes go/types say is the same
// before and after the fixes, so only differences count.
func checkFile(name string, src []byte) (*fileCheck, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, name, src, parser.ParseComments|parser.SkipObjectResolution)
	if err != nil {
		return nil, fmt.Errorf("the fixed file would not parse (%v)", err)
	}
	fc := &fileCheck{
		unusedVars:    map[string]int{},
		importUses:    map[importKey]int{},
		unusedImports: map[importKey]bool{},
		file:          f,
		fset:          fset,
	}
	info := &types.Info{
		Uses:      map[*ast.Ident]types.Object{},
		Defs:      map[*ast.Ident]types.Object{},
		Implicits: map[ast.Node]types.Object{},
	}
	conf := types.Config{
		Importer:    stubs.Importer{},
		FakeImportC: true,
		Error: func(err error) {
			var te types.Error
			if !errors.As(err, &te) || !te.Soft {
				return
			}
			if v, ok := strings.CutPrefix(te.Msg, "declared and not used: "); ok {
				fc.unusedVars[v]++
				return
			}
			if strings.Contains(te.Msg, "imported") && strings.HasSuffix(te.Msg, "not used") {
				for _, spec := range f.Imports {
					if spec.Pos() <= te.Pos && te.Pos < spec.End() {
						fc.unusedImports[keyOf(spec)] = true
					}
				}
			}
		},
	}
	conf.Check(f.Name.Name, fset, []*ast.File{f}, info)
	names := map[types.Object]importKey{}
	for _, spec := range f.Imports {
		if pn := info.PkgNameOf(spec); pn != nil {
			names[pn] = keyOf(spec)
		}
	}
	for _, obj := range info.Uses {
		if k, ok := names[obj]; ok {
			fc.importUses[k]++
		}
	}
	return fc, nil
}

// fixFile applies edits to src, removes the imports they left unused, and
// formats the result. It also returns the variables (by name) the edits
// left declared and not used; the caller must not write the result then.
func fixFile(name string, src []byte, edits []Edit, before *fileCheck) ([]byte, []string, error) {
	edits = slices.Clone(edits)
	slices.SortFunc(edits, func(a, b Edit) int { return a.Start - b.Start })
	var buf bytes.Buffer
	last := 0
	for _, ed := range edits {
		if ed.Start < last || ed.End > len(src) || ed.Start > ed.End {
			return nil, nil, fmt.Errorf("fix edit %d-%d is out of range", ed.Start, ed.End)
		}
		buf.Write(src[last:ed.Start])
		buf.WriteString(ed.NewText)
		last = ed.End
	}
	buf.Write(src[last:])

	after, err := checkFile(name, buf.Bytes())
	if err != nil {
		return nil, nil, err
	}
	var unused []string
	for v, n := range after.unusedVars {
		if n > before.unusedVars[v] {
			unused = append(unused, v)
		}
	}
	if len(unused) > 0 {
		slices.Sort(unused)
		return nil, unused, nil
	}

	// Collect first, delete after: astutil.DeleteImport edits f.Imports.
	var drop []*ast.ImportSpec
	for _, spec := range after.file.Imports {
		k := keyOf(spec)
		switch {
		case k.name == "_":
			// imported for its side effects: never "unused"
		case after.unusedImports[k] && !before.unusedImports[k]:
			drop = append(drop, spec)
		case k.name != "." && before.importUses[k] > 0 && after.importUses[k] == 0:
			drop = append(drop, spec)
		}
	}
	out := buf.Bytes()
	if len(drop) > 0 {
		for _, spec := range drop {
			if spec.Name != nil {
				astutil.DeleteNamedImport(after.fset, after.file, spec.Name.Name, importPath(spec))
			} else {
				astutil.DeleteImport(after.fset, after.file, importPath(spec))
			}
		}
		var nb bytes.Buffer
		if err := format.Node(&nb, after.fset, after.file); err != nil {
			return nil, nil, err
		}
		out = nb.Bytes()
	}
	formatted, err := format.Source(out)
	if err != nil {
		return nil, nil, fmt.Errorf("the fixed file would not parse (%v)", err)
	}
	return formatted, nil, nil
}

// mentionsAny reports whether the text that edits delete from file name
// holds one of the identifiers.
func mentionsAny(src []byte, edits []Edit, name string, idents []string) bool {
	for _, ed := range edits {
		if ed.Filename != name || ed.Start < 0 || ed.End > len(src) || ed.Start >= ed.End {
			continue
		}
		var s scanner.Scanner
		text := src[ed.Start:ed.End]
		s.Init(token.NewFileSet().AddFile("", -1, len(text)), text, nil, 0)
		for {
			_, tok, lit := s.Scan()
			if tok == token.EOF {
				break
			}
			if tok == token.IDENT && slices.Contains(idents, lit) {
				return true
			}
		}
	}
	return false
}

// deletedText is the statement the fix for f deletes (the edit around f's
// call), as one line.
func (e *engine) deletedText(f Finding, edits []Edit) string {
	i := slices.IndexFunc(edits, func(ed Edit) bool {
		return ed.Filename == f.Pos.Filename && ed.Start <= f.Pos.Offset && f.Pos.Offset < ed.End
	})
	if i < 0 {
		return ""
	}
	ed := edits[i]
	src := e.linted[ed.Filename]
	if ed.End > len(src) {
		return ""
	}
	text := strings.Join(strings.Fields(string(src[ed.Start:ed.End])), " ")
	const max = 100
	if utf8.RuneCountInString(text) > max {
		text = string([]rune(text)[:max-1]) + "…"
	}
	return text
}

func overlaps(a, b Edit) bool {
	if a.Filename != b.Filename {
		return false
	}
	if a.Start == a.End && b.Start == b.End {
		return a.Start == b.Start // two insertions at one point: order unknown
	}
	return a.Start < b.End && b.Start < a.End || a.Start == b.Start
}

// writeAll replaces each file with its new content, all or none as far as
// the file system allows: every new content goes to a temporary file
// beside its target first, and only when all are written are they renamed
// over the targets. It returns the files it replaced.
func writeAll(files map[string][]byte) (map[string]bool, error) {
	type pending struct{ tmp, name string }
	var temps []pending
	for _, name := range sortedKeys(files) {
		tmp, err := writeTemp(name, files[name])
		if err != nil {
			for _, p := range temps {
				os.Remove(p.tmp)
			}
			return nil, fmt.Errorf("nothing written: %w", err)
		}
		temps = append(temps, pending{tmp, name})
	}
	written := map[string]bool{}
	for i, p := range temps {
		if err := os.Rename(p.tmp, p.name); err != nil {
			// Files already renamed stay fixed; the rest are not touched.
			for _, q := range temps[i:] {
				os.Remove(q.tmp)
			}
			return written, fmt.Errorf("not written: %w", err)
		}
		written[p.name] = true
	}
	return written, nil
}

// writeTemp writes data to a new temporary file beside name, with name's
// permissions, and returns its path.
func writeTemp(name string, data []byte) (string, error) {
	fi, err := os.Stat(name)
	if err != nil {
		return "", err
	}
	tmp, err := os.CreateTemp(filepath.Dir(name), "."+filepath.Base(name)+".toil-fix-*")
	if err != nil {
		return "", err
	}
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Chmod(fi.Mode().Perm())
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp.Name())
		return "", err
	}
	return tmp.Name(), nil
}
