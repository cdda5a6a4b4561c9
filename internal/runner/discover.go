package runner

import (
	"context"
	"fmt"
	"go/token"
	"go/types"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"golang.org/x/tools/go/packages"
)

// Kind says how the generated main hands a service to toil.Main.
type Kind string

// The kinds of service.
const (
	KindFunc   Kind = "func"   // func(context.Context, *toil.S) error, passed as is
	KindStruct Kind = "struct" // struct embedding toil.Base[Cfg], passed as &T{}
)

// Service is a service found in a package.
type Service struct {
	Name       string // TOIL_SERVICE: last element of the import path + "." + the lower-cased identifier
	ImportPath string // example.com/app/hello
	Ident      string // World
	Kind       Kind
}

// signature is the one a function service has, for messages.
const signature = "func(context.Context, *toil.S) error"

// Discover type-checks the target package and returns the service spec names.
// Dependencies come from export data (go list -export), so only the one
// package is type-checked from source.
func Discover(ctx context.Context, mod *Module, t *Target, spec Spec, env []string) (*Service, error) {
	cfg := &packages.Config{
		Context: ctx,
		Mode:    packages.NeedName | packages.NeedFiles | packages.NeedSyntax | packages.NeedTypes,
		Dir:     mod.Root,
		Env:     env,
		Fset:    token.NewFileSet(),
	}
	pkgs, err := packages.Load(cfg, t.Pattern)
	if err != nil {
		return nil, fmt.Errorf("load package %s: %w", spec.Pkg, err)
	}
	if len(pkgs) != 1 {
		return nil, inputErrorf("%s matches %d packages; name one directory", spec.Pkg, len(pkgs))
	}
	pkg := pkgs[0]
	var listErrs, typeErrs []string
	for _, e := range pkg.Errors {
		if e.Kind == packages.ListError {
			listErrs = append(listErrs, e.Msg)
		} else {
			typeErrs = append(typeErrs, e.Error())
		}
	}
	if len(pkg.GoFiles) == 0 || pkg.Types == nil {
		return nil, inputErrorf("package %s: %s", spec.Pkg, strings.Join(listErrs, "; "))
	}
	if len(typeErrs) == 0 {
		// go list -export reports the package's compile errors as a list
		// error: they are build errors all the same.
		typeErrs = listErrs
	}
	if pkg.Name == "main" {
		return nil, inputErrorf("package %s (%s) is a main package, which cannot be imported; move %s into a package of its own, or use go run", spec.Pkg, pkg.PkgPath, spec.Name)
	}
	found := inspect(pkg.Types, cfg.Fset)
	svc, err := pick(found, pkg.Types, spec, cfg.Fset)
	if err != nil && len(typeErrs) > 0 {
		// The near-miss analysis may be wrong when the package does not
		// compile: say that first, with the compiler's words.
		return nil, &BuildError{Output: relErrors(typeErrs)}
	}
	return svc, err
}

// relErrors makes file paths in type errors relative to the working
// directory, as the go command prints them.
func relErrors(errs []string) string {
	cwd, _ := os.Getwd()
	var b strings.Builder
	for _, e := range errs {
		if cwd != "" && strings.HasPrefix(e, cwd+string(filepath.Separator)) {
			e = e[len(cwd)+1:]
		}
		b.WriteString(e + "\n")
	}
	return b.String()
}

// found is one package-level object that is a service or nearly one.
type found struct {
	obj    types.Object
	kind   Kind   // set when it is a service
	reason string // why it is not, when kind is empty
}

// inspect classifies every package-level func, var and type that could be
// meant as a service. Nothing here reads syntax: the decision is by type, so
// aliases, renamed imports and dot imports are seen through.
func inspect(pkg *types.Package, fset *token.FileSet) []found {
	var out []found
	scope := pkg.Scope()
	for _, name := range scope.Names() {
		switch obj := scope.Lookup(name).(type) {
		case *types.Func:
			out = append(out, classifyFunc(obj, obj.Type().(*types.Signature), pkg))
		case *types.Var:
			if sig, ok := obj.Type().Underlying().(*types.Signature); ok {
				out = append(out, classifyFunc(obj, sig, pkg))
			}
		case *types.TypeName:
			if f, ok := classifyType(obj, pkg); ok {
				out = append(out, f)
			}
		}
	}
	return out
}

func classifyFunc(obj types.Object, sig *types.Signature, pkg *types.Package) found {
	f := found{obj: obj}
	shape := funcString(sig, pkg)
	switch {
	case sig.TypeParams().Len() > 0:
		f.reason = fmt.Sprintf("%s has type parameters; a service is %s, not generic", obj.Name(), signature)
	case !isServiceSig(sig):
		f.reason = fmt.Sprintf("%s is %s; a service is %s%s", obj.Name(), shape, signature, sigHint(sig))
	case !obj.Exported():
		f.reason = fmt.Sprintf("%s has the service signature but is not exported, so a generated main cannot call it; rename it %s", obj.Name(), exportName(obj.Name()))
	default:
		f.kind = KindFunc
	}
	return f
}

// sigHint names the one thing to change when the signature is close.
func sigHint(sig *types.Signature) string {
	p, r := sig.Params(), sig.Results()
	if p.Len() == 2 && isContext(p.At(0).Type()) && isToilNamed(p.At(1).Type(), "S") {
		return " (take a *toil.S: a pointer, not a copy)"
	}
	if p.Len() == 2 && isContext(p.At(0).Type()) && isToilS(p.At(1).Type()) && r.Len() == 0 {
		return " (return an error)"
	}
	if p.Len() == 1 && isContext(p.At(0).Type()) {
		return " (add the s *toil.S parameter)"
	}
	return ""
}

func isServiceSig(sig *types.Signature) bool {
	p, r := sig.Params(), sig.Results()
	return !sig.Variadic() && p.Len() == 2 && r.Len() == 1 &&
		isContext(p.At(0).Type()) && isToilS(p.At(1).Type()) &&
		types.Identical(r.At(0).Type(), types.Universe.Lookup("error").Type())
}

func isContext(t types.Type) bool { return isNamed(t, "context", "Context") }

func isToilS(t types.Type) bool {
	ptr, ok := types.Unalias(t).(*types.Pointer)
	return ok && isToilNamed(ptr.Elem(), "S")
}

func isToilNamed(t types.Type, name string) bool { return isNamed(t, ToilPath, name) }

// isNamed reports whether t is (an alias of) the named type path.name or an
// instance of it.
func isNamed(t types.Type, path, name string) bool {
	n, ok := types.Unalias(t).(*types.Named)
	if !ok {
		return false
	}
	o := n.Origin().Obj()
	return o.Pkg() != nil && o.Pkg().Path() == path && o.Name() == name
}

// classifyType reports struct types that embed toil.Base (services), and
// types that look meant as one (near misses). Other types are not reported.
func classifyType(obj *types.TypeName, pkg *types.Package) (found, bool) {
	f := found{obj: obj}
	st, ok := obj.Type().Underlying().(*types.Struct)
	if !ok {
		f.reason = fmt.Sprintf("%s is a %s type, not a service; a service is %s, or a struct type embedding toil.Base[Config]", obj.Name(), kindWord(obj.Type().Underlying()), signature)
		return f, true
	}
	embeds, how := baseField(st, pkg)
	switch {
	case embeds == "":
		f.reason = fmt.Sprintf("%s is a struct that does not embed toil.Base; a struct service embeds toil.Base[Config]", obj.Name())
	case how != "":
		f.reason = fmt.Sprintf("%s %s", obj.Name(), how)
	case isGeneric(obj):
		f.reason = fmt.Sprintf("%s has type parameters, so toil cannot make one; give it a concrete config type", obj.Name())
	case !obj.Exported():
		f.reason = fmt.Sprintf("%s embeds toil.Base but is not exported, so a generated main cannot make one; rename it %s", obj.Name(), exportName(obj.Name()))
	default:
		f.kind = KindStruct
	}
	return f, true
}

func isGeneric(obj *types.TypeName) bool {
	n, ok := obj.Type().(*types.Named)
	return ok && n.TypeParams().Len() > 0
}

// baseField looks for an embedded toil.Base in st the way Go promotes
// methods, which is how toil.Main recognises a struct service: the shallowest
// embedding wins and two at one depth cancel out. It returns the Base type's
// string when there is one, and what is wrong with how it is embedded (""
// when &T{} is a service as is).
func baseField(st *types.Struct, pkg *types.Package) (string, string) {
	type level struct {
		st  *types.Struct
		via []string // embedded fields on the way, for messages
		ptr string   // the first pointer embedding on the way, which &T{} leaves nil
	}
	var namedField, namedType string // a Base that is a named field: a hint, not a service
	cur := []level{{st: st}}
	for depth := 0; len(cur) > 0 && depth < 8; depth++ {
		type hit struct {
			ts, ptr string
			via     []string
		}
		var hits []hit
		var next []level
		for _, l := range cur {
			for i := 0; i < l.st.NumFields(); i++ {
				fld := l.st.Field(i)
				t, ptr := fld.Type(), l.ptr
				if p, ok := types.Unalias(t).(*types.Pointer); ok {
					t = p.Elem()
					if ptr == "" {
						ptr = fld.Name()
					}
				}
				if isToilNamed(t, "Base") {
					ts := types.TypeString(t, qualifier(pkg))
					if fld.Embedded() {
						hits = append(hits, hit{ts, ptr, append(l.via, fld.Name())})
					} else if depth == 0 && namedField == "" {
						namedField, namedType = fld.Name(), ts
					}
					continue
				}
				if inner, ok := t.Underlying().(*types.Struct); ok && fld.Embedded() {
					next = append(next, level{st: inner, via: append(append([]string(nil), l.via...), fld.Name()), ptr: ptr})
				}
			}
		}
		switch {
		case len(hits) == 1 && hits[0].ptr != "":
			h := hits[0]
			if h.ptr == "Base" {
				return h.ts, fmt.Sprintf("embeds *%s; embed %s itself, not a pointer", h.ts, h.ts)
			}
			return h.ts, fmt.Sprintf("embeds toil.Base through the pointer field %s, which toil leaves nil; embed %s by value", h.ptr, h.ptr)
		case len(hits) == 1:
			return hits[0].ts, ""
		case len(hits) > 1:
			var paths []string
			for _, h := range hits {
				paths = append(paths, strings.Join(h.via, "."))
			}
			return hits[0].ts, fmt.Sprintf("embeds toil.Base more than once at the same depth (%s), so neither is promoted; embed it once", strings.Join(paths, " and "))
		}
		cur = next
	}
	if namedField != "" {
		return namedType, fmt.Sprintf("has toil.Base as the named field %s; embed it instead: a field of type %s with no name", namedField, namedType)
	}
	return "", ""
}

func kindWord(t types.Type) string {
	switch t.(type) {
	case *types.Signature:
		return "func"
	case *types.Interface:
		return "interface"
	case *types.Map:
		return "map"
	case *types.Slice:
		return "slice"
	case *types.Pointer:
		return "pointer"
	case *types.Chan:
		return "chan"
	}
	return t.String()
}

func qualifier(pkg *types.Package) types.Qualifier {
	return func(p *types.Package) string {
		if p == pkg {
			return ""
		}
		return p.Name()
	}
}

// funcString writes sig without parameter names, as a person says it:
// func(context.Context) error.
func funcString(sig *types.Signature, pkg *types.Package) string {
	q := qualifier(pkg)
	var b strings.Builder
	b.WriteString("func(")
	for i := 0; i < sig.Params().Len(); i++ {
		if i > 0 {
			b.WriteString(", ")
		}
		t := sig.Params().At(i).Type()
		if sig.Variadic() && i == sig.Params().Len()-1 {
			b.WriteString("..." + types.TypeString(t.(*types.Slice).Elem(), q))
			continue
		}
		b.WriteString(types.TypeString(t, q))
	}
	b.WriteString(")")
	switch r := sig.Results(); r.Len() {
	case 0:
	case 1:
		b.WriteString(" " + types.TypeString(r.At(0).Type(), q))
	default:
		var rs []string
		for i := 0; i < r.Len(); i++ {
			rs = append(rs, types.TypeString(r.At(i).Type(), q))
		}
		b.WriteString(" (" + strings.Join(rs, ", ") + ")")
	}
	return b.String()
}

func exportName(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// pick chooses the service spec names among what inspect found. A name that
// matches several services only by case resolves to the exact-case one.
func pick(all []found, pkg *types.Package, spec Spec, fset *token.FileSet) (*Service, error) {
	var match, near, services []found
	for _, f := range all {
		if f.kind != "" {
			services = append(services, f)
		}
		if !strings.EqualFold(f.obj.Name(), spec.Name) {
			continue
		}
		if f.kind != "" {
			match = append(match, f)
		} else {
			near = append(near, f)
		}
	}
	if len(match) > 1 {
		for _, f := range match {
			if f.obj.Name() == spec.Name {
				match = []found{f}
				break
			}
		}
	}
	last := pkg.Path()[strings.LastIndexByte(pkg.Path(), '/')+1:]
	switch len(match) {
	case 1:
		return &Service{
			Name:       last + "." + strings.ToLower(match[0].obj.Name()),
			ImportPath: pkg.Path(),
			Ident:      match[0].obj.Name(),
			Kind:       match[0].kind,
		}, nil
	case 0:
		var b strings.Builder
		fmt.Fprintf(&b, "no service %q in package %s", spec.Name, pkg.Path())
		for _, f := range near {
			fmt.Fprintf(&b, "\n  %s: %s", position(fset, f.obj), f.reason)
		}
		if len(services) > 0 {
			var names []string
			for _, f := range services {
				names = append(names, fmt.Sprintf("%s.%s (%s, %s)", spec.Pkg, strings.ToLower(f.obj.Name()), f.obj.Name(), f.kind))
			}
			sort.Strings(names)
			fmt.Fprintf(&b, "\nservices in %s: %s", pkg.Path(), strings.Join(names, ", "))
		} else {
			fmt.Fprintf(&b, "\n%s has no services; a service is an exported %s, or an exported struct type embedding toil.Base[Config]", pkg.Path(), signature)
		}
		return nil, &InputError{Msg: b.String()}
	default:
		var b strings.Builder
		fmt.Fprintf(&b, "%q matches %d services in %s, differing only in case:", spec.Name, len(match), pkg.Path())
		for _, f := range match {
			fmt.Fprintf(&b, "\n  %s: %s (%s)", position(fset, f.obj), f.obj.Name(), f.kind)
		}
		fmt.Fprintf(&b, "\nname one with its exact case, e.g. toil run %s.%s", spec.Pkg, match[0].obj.Name())
		return nil, &InputError{Msg: b.String()}
	}
}

func position(fset *token.FileSet, obj types.Object) string {
	p := fset.Position(obj.Pos())
	if !p.IsValid() {
		return obj.Name()
	}
	name := p.Filename
	if cwd, err := os.Getwd(); err == nil {
		if rel, err := filepath.Rel(cwd, name); err == nil && !strings.HasPrefix(rel, "..") {
			name = rel
		}
	}
	return fmt.Sprintf("%s:%d:%d", name, p.Line, p.Column)
}
