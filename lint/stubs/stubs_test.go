package stubs

import (
	"go/importer"
	"go/types"
	"strings"
	"testing"

	"github.com/toilhq/toil/analyzers"
)

// TestStdStubsHaveRealSignatures compares every object the standard-library
// stubs declare (and every method of their types) with the real package:
// a stub that drifted from the real API would resolve calls differently.
func TestStdStubsHaveRealSignatures(t *testing.T) {
	t.Parallel()
	real := importer.Default()
	for _, path := range Paths() {
		if strings.Contains(path, ".") {
			continue // third-party: checked against the analyzers' testdata by lint's equivalence test
		}
		stub, err := Importer{}.Import(path)
		if err != nil {
			t.Fatalf("stub %s: %v", path, err)
		}
		want, err := real.Import(path)
		if err != nil {
			t.Fatalf("real %s: %v", path, err)
		}
		for _, name := range stub.Scope().Names() {
			s := stub.Scope().Lookup(name)
			if !s.Exported() {
				continue
			}
			r := want.Scope().Lookup(name)
			if r == nil {
				t.Errorf("%s.%s: not in the real package", path, name)
				continue
			}
			if _, ok := s.(*types.TypeName); ok {
				compareMethods(t, path+"."+name, s.Type(), r.Type())
				continue
			}
			if got, exp := typeString(s.Type()), typeString(r.Type()); got != exp {
				t.Errorf("%s.%s: stub %s, real %s", path, name, got, exp)
			}
		}
	}
}

func compareMethods(t *testing.T, name string, stub, real types.Type) {
	t.Helper()
	ms := types.NewMethodSet(types.NewPointer(stub))
	mr := types.NewMethodSet(types.NewPointer(real))
	for i := range ms.Len() {
		m := ms.At(i).Obj()
		if !m.Exported() {
			continue
		}
		sel := mr.Lookup(m.Pkg(), m.Name())
		if sel == nil {
			// Methods are looked up by (package, name): use the real package.
			sel = lookupByName(mr, m.Name())
		}
		if sel == nil {
			t.Errorf("%s.%s: not a method of the real type", name, m.Name())
			continue
		}
		if got, exp := typeString(m.Type()), typeString(sel.Obj().Type()); got != exp {
			t.Errorf("%s.%s: stub %s, real %s", name, m.Name(), got, exp)
		}
	}
	if si, ok := stub.Underlying().(*types.Interface); ok {
		ri, ok := real.Underlying().(*types.Interface)
		if !ok || si.NumMethods() != ri.NumMethods() {
			t.Errorf("%s: interface differs from the real one", name)
		}
	}
}

func lookupByName(ms *types.MethodSet, name string) *types.Selection {
	for i := range ms.Len() {
		if ms.At(i).Obj().Name() == name {
			return ms.At(i)
		}
	}
	return nil
}

// typeString prints types with package paths, so that stub and real
// packages of the same path print alike; untyped/typed constant kinds aside.
func typeString(t types.Type) string {
	return types.TypeString(t, func(p *types.Package) string { return p.Path() })
}

func TestEveryStubTypeChecks(t *testing.T) {
	t.Parallel()
	for _, path := range Paths() {
		if _, err := (Importer{}).Import(path); err != nil {
			t.Errorf("%s: %v", path, err)
		}
		if Name(path) == "" {
			t.Errorf("%s: no package name", path)
		}
	}
	if _, err := (Importer{}).Import("github.com/some/dep"); err == nil {
		t.Error("an unstubbed import must fail, so that go/types fakes it")
	}
}

// TestStubsDeclareEveryTarget checks the stubs against the analyzers'
// targets table: every function and method a rule matches (flagged, writer
// forms and never-flagged alike) is declared in its package's stub, methods
// on the named receiver itself, writer arguments as io.Writer. A target
// missing from the stubs would silently never match under toil lint.
func TestStubsDeclareEveryTarget(t *testing.T) {
	t.Parallel()
	for _, tg := range analyzers.Targets() {
		name := tg.Path + "." + tg.Name
		if tg.Recv != "" {
			name = tg.Path + "." + tg.Recv + "." + tg.Name
		}
		pkg, err := Importer{}.Import(tg.Path)
		if err != nil {
			t.Errorf("%s: no stub: %v", name, err)
			continue
		}
		var fn *types.Func
		if tg.Recv == "" {
			fn, _ = pkg.Scope().Lookup(tg.Name).(*types.Func)
		} else {
			tn, ok := pkg.Scope().Lookup(tg.Recv).(*types.TypeName)
			if !ok {
				t.Errorf("%s: the stub declares no type %s", name, tg.Recv)
				continue
			}
			obj, _, _ := types.LookupFieldOrMethod(types.NewPointer(tn.Type()), true, pkg, tg.Name)
			fn, _ = obj.(*types.Func)
			if fn != nil && recvName(fn) != tg.Recv {
				t.Errorf("%s: declared on %s, not on %s", name, recvName(fn), tg.Recv)
			}
		}
		if fn == nil {
			t.Errorf("%s: not declared in the stub", name)
			continue
		}
		params := fn.Signature().Params()
		if tg.Writer >= 0 {
			if tg.Writer >= params.Len() || typeString(params.At(tg.Writer).Type()) != "io.Writer" {
				t.Errorf("%s: argument %d is not an io.Writer: %s", name, tg.Writer, fn.Signature())
			}
		}
		if tg.StdioRecv && (tg.Path != "os" || tg.Recv != "File") {
			t.Errorf("%s: only *os.File methods can be called on os.Stdout", name)
		}
	}
}

func recvName(fn *types.Func) string {
	recv := fn.Signature().Recv()
	if recv == nil {
		return ""
	}
	rt := recv.Type()
	if p, ok := rt.(*types.Pointer); ok {
		rt = p.Elem()
	}
	if n, ok := types.Unalias(rt).(*types.Named); ok {
		return n.Obj().Name()
	}
	return ""
}
