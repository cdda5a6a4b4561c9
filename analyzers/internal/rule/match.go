package rule

import (
	"go/ast"
	"go/types"
	"regexp"
	"strconv"
	"strings"

	"github.com/toilhq/toil/analyzers/internal/targets"
	"golang.org/x/tools/go/ast/inspector"
	"golang.org/x/tools/go/types/typeutil"
)

// Callee resolves the function or method that call calls, through type
// information only. It reports false for builtins, function values
// (f := fmt.Println; f()), conversions, and whenever the types are missing,
// as they are for imports toil lint does not load.
func Callee(info *types.Info, call *ast.CallExpr) (targets.Key, bool) {
	fn, ok := typeutil.Callee(info, call).(*types.Func)
	if !ok || fn.Pkg() == nil {
		return targets.Key{}, false
	}
	key := targets.Key{Path: fn.Pkg().Path(), Name: fn.Name()}
	sig, ok := fn.Type().(*types.Signature)
	if !ok {
		return targets.Key{}, false
	}
	if recv := sig.Recv(); recv != nil {
		t := recv.Type()
		if ptr, ok := t.(*types.Pointer); ok {
			t = ptr.Elem()
		}
		named, ok := types.Unalias(t).(*types.Named)
		if !ok {
			return targets.Key{}, false // a method of an unnamed interface
		}
		key.Recv = named.Obj().Name()
	}
	return key, true
}

// Matches returns the target of rule that call resolves to, if any, with
// its How condition checked: a Never target or an unmet condition is no match.
func Matches(info *types.Info, call *ast.CallExpr, rule string) (targets.Target, targets.Key, bool) {
	key, ok := Callee(info, call)
	if !ok {
		return targets.Target{}, key, false
	}
	for _, t := range targets.Lookup(key.Path, key.Recv, key.Name) {
		if t.Rule != rule {
			continue
		}
		switch t.How {
		case targets.Always:
			return t, key, true
		case targets.StdioArg:
			if t.Arg < len(call.Args) && IsStdio(info, call.Args[t.Arg]) {
				return t, key, true
			}
		case targets.StdioRecv:
			if sel, ok := ast.Unparen(call.Fun).(*ast.SelectorExpr); ok && IsStdio(info, sel.X) {
				return t, key, true
			}
		case targets.StdioCtor:
			if sel, ok := ast.Unparen(call.Fun).(*ast.SelectorExpr); ok && isStdioCtorCall(info, sel.X) {
				return t, key, true
			}
		}
	}
	return targets.Target{}, key, false
}

// IsStdio reports whether e is exactly os.Stdout or os.Stderr.
func IsStdio(info *types.Info, e ast.Expr) bool {
	var id *ast.Ident
	switch e := ast.Unparen(e).(type) {
	case *ast.Ident:
		id = e // dot import
	case *ast.SelectorExpr:
		id = e.Sel
	default:
		return false
	}
	v, ok := info.Uses[id].(*types.Var)
	if !ok || v.Pkg() == nil || v.Pkg().Path() != targets.OSPath || v.Parent() != v.Pkg().Scope() {
		return false
	}
	return v.Name() == targets.Stdout || v.Name() == targets.Stderr
}

func isStdioCtorCall(info *types.Info, e ast.Expr) bool {
	call, ok := ast.Unparen(e).(*ast.CallExpr)
	if !ok {
		return false
	}
	key, ok := Callee(info, call)
	if !ok || key.Recv != "" {
		return false
	}
	for _, c := range targets.Ctors {
		if c.Path != key.Path || c.Name != key.Name {
			continue
		}
		if c.Arg < 0 {
			return true
		}
		return c.Arg < len(call.Args) && IsStdio(info, call.Args[c.Arg])
	}
	return false
}

// CalleeName is how messages name the callee: "fmt.Println",
// "spew.ConfigState.Dump" (the package's last path element, not the local
// import name, so messages read the same in every file).
func CalleeName(key targets.Key) string {
	pkg := key.Path
	if i := strings.LastIndex(pkg, "/"); i >= 0 {
		pkg = pkg[i+1:]
	}
	if isMajorVersion(pkg) {
		// github.com/k0kubun/pp/v3 is package pp.
		parent := strings.TrimSuffix(key.Path, "/"+pkg)
		pkg = parent[strings.LastIndex(parent, "/")+1:]
	}
	if key.Recv != "" {
		return pkg + "." + key.Recv + "." + key.Name
	}
	return pkg + "." + key.Name
}

func isMajorVersion(s string) bool {
	n, err := strconv.Atoi(strings.TrimPrefix(s, "v"))
	return strings.HasPrefix(s, "v") && err == nil && n >= 2
}

var debugWord = regexp.MustCompile(`(?i)debug|verbose|trace`)

// DebugGated reports whether cur is in the body of an if statement whose
// condition refers to something named like debug, verbose or trace
// (if cfg.Debug { ... }): output a user switches on is not a leftover.
// Only identifiers in the condition count, never strings or comments.
func DebugGated(cur inspector.Cursor) bool {
	for c := range cur.Enclosing((*ast.IfStmt)(nil)) {
		ifs := c.Node().(*ast.IfStmt)
		// Only the then-branch is gated; else runs when debugging is off.
		if !(ifs.Body.Pos() <= cur.Node().Pos() && cur.Node().End() <= ifs.Body.End()) {
			continue
		}
		gated := false
		ast.Inspect(ifs.Cond, func(n ast.Node) bool {
			if id, ok := n.(*ast.Ident); ok && debugWord.MatchString(id.Name) {
				gated = true
			}
			return !gated
		})
		if gated {
			return true
		}
	}
	return false
}

// ImportPath returns the unquoted path of spec ("" if malformed).
func ImportPath(spec *ast.ImportSpec) string {
	path, err := strconv.Unquote(spec.Path.Value)
	if err != nil {
		return ""
	}
	return path
}
