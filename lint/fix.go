package lint

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/format"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strconv"

	"golang.org/x/tools/go/ast/astutil"

	"github.com/toilhq/toil/lint/stubs"
)

// applyFixes applies the first suggested fix of each finding, file by file.
// A fix whose edits overlap an already accepted fix is refused (fixes are
// alternatives to each other only within one finding; across findings they
// must merge cleanly). Each rewritten file is re-gofmt'ed, and imports of
// stubbed packages that the fixes left unused are removed, since two fixes
// in one file each see the other's call as a remaining use.
func (e *engine) applyFixes(res *Result) {
	type fileEdits struct {
		edits    []Edit
		findings []int // indexes into res.Findings
	}
	byFile := map[string]*fileEdits{}
	fixed := make([]bool, len(res.Findings))
	failed := map[int]string{}
	for i, f := range res.Findings {
		if len(f.Fixes) == 0 {
			continue
		}
		fix := f.Fixes[0]
		conflict := false
		for _, ed := range fix.Edits {
			fe := byFile[ed.Filename]
			if fe == nil {
				continue
			}
			for _, other := range fe.edits {
				if other == ed {
					continue // the same edit from two findings: apply once
				}
				if overlaps(ed, other) {
					conflict = true
				}
			}
		}
		if conflict {
			failed[i] = "its edits conflict with another fix in the same place; run --fix again"
			continue
		}
		for _, ed := range fix.Edits {
			fe := byFile[ed.Filename]
			if fe == nil {
				fe = &fileEdits{}
				byFile[ed.Filename] = fe
			}
			if !slices.Contains(fe.edits, ed) {
				fe.edits = append(fe.edits, ed)
			}
			if !slices.Contains(fe.findings, i) {
				fe.findings = append(fe.findings, i)
			}
		}
		fixed[i] = true
	}

	for _, name := range sortedKeys(byFile) {
		fe := byFile[name]
		fail := func(reason string) {
			for _, i := range fe.findings {
				fixed[i] = false
				failed[i] = reason
			}
		}
		linted, ok := e.linted[name]
		if !ok {
			fail("the linted content of the file is unknown")
			continue
		}
		onDisk, err := os.ReadFile(name)
		if err != nil {
			fail(err.Error())
			continue
		}
		if !bytes.Equal(onDisk, linted) {
			fail("the file on disk differs from what was linted (unstaged changes?); fix it by hand or stage it")
			continue
		}
		out, err := applyEdits(name, linted, fe.edits)
		if err != nil {
			fail(err.Error())
			continue
		}
		if err := writeFileAtomic(name, out); err != nil {
			fail(err.Error())
			continue
		}
		res.FixedFiles = append(res.FixedFiles, name)
	}

	var remaining []Finding
	for i, f := range res.Findings {
		switch {
		case fixed[i]:
			res.Fixed = append(res.Fixed, f)
		default:
			if reason, ok := failed[i]; ok {
				res.FixFailures = append(res.FixFailures, FixFailure{Finding: f, Reason: reason})
			}
			remaining = append(remaining, f)
		}
	}
	res.Findings = remaining
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

// applyEdits applies non-overlapping edits to src, drops the stub-package
// imports the edits left unused, and formats the result.
func applyEdits(name string, src []byte, edits []Edit) ([]byte, error) {
	edits = slices.Clone(edits)
	slices.SortFunc(edits, func(a, b Edit) int { return a.Start - b.Start })
	var buf bytes.Buffer
	last := 0
	for _, ed := range edits {
		if ed.Start < last || ed.End > len(src) || ed.Start > ed.End {
			return nil, fmt.Errorf("fix edit %d-%d is out of range", ed.Start, ed.End)
		}
		buf.Write(src[last:ed.Start])
		buf.WriteString(ed.NewText)
		last = ed.End
	}
	buf.Write(src[last:])
	out := buf.Bytes()

	out, err := dropUnusedStubImports(name, src, out)
	if err != nil {
		return nil, err
	}
	formatted, err := format.Source(out)
	if err != nil {
		return nil, fmt.Errorf("the fixed file would not parse (%v); not written", err)
	}
	return formatted, nil
}

// dropUnusedStubImports removes imports of stubbed packages (the only ones
// fixes delete calls into) that were referenced before the edits and are
// not after. References are counted syntactically (name.X); a real use is
// always one, so a count of zero proves the import unused.
func dropUnusedStubImports(name string, before, after []byte) ([]byte, error) {
	fset := token.NewFileSet()
	fb, err := parser.ParseFile(fset, name, before, parser.SkipObjectResolution)
	if err != nil {
		return after, nil // nothing to compare with; format.Source will judge
	}
	fa, err := parser.ParseFile(fset, name, after, parser.ParseComments|parser.SkipObjectResolution)
	if err != nil {
		return nil, fmt.Errorf("the fixed file would not parse (%v); not written", err)
	}
	changed := false
	for _, spec := range fa.Imports {
		path, err := strconv.Unquote(spec.Path.Value)
		if err != nil || !stubs.Has(path) {
			continue
		}
		local := stubs.Name(path)
		if spec.Name != nil {
			local = spec.Name.Name
		}
		if local == "_" || local == "." {
			continue
		}
		if selectorUses(fb, local) > 0 && selectorUses(fa, local) == 0 {
			if spec.Name != nil {
				astutil.DeleteNamedImport(fset, fa, spec.Name.Name, path)
			} else {
				astutil.DeleteImport(fset, fa, path)
			}
			changed = true
		}
	}
	if !changed {
		return after, nil
	}
	var buf bytes.Buffer
	if err := format.Node(&buf, fset, fa); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func selectorUses(f *ast.File, name string) int {
	n := 0
	ast.Inspect(f, func(node ast.Node) bool {
		if sel, ok := node.(*ast.SelectorExpr); ok {
			if id, ok := sel.X.(*ast.Ident); ok && id.Name == name {
				n++
			}
		}
		return true
	})
	return n
}

// writeFileAtomic replaces name with data, keeping its permissions.
func writeFileAtomic(name string, data []byte) error {
	fi, err := os.Stat(name)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(name), "."+filepath.Base(name)+".toil-fix-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(fi.Mode().Perm()); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), name)
}
