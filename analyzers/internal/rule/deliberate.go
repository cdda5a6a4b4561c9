package rule

import (
	"go/ast"
	"go/types"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/tools/go/ast/inspector"
)

// Deliberate reports whether the output call at cur is, by the shape of the
// code around it, output its author meant: it is in an example
// (InExample), in a function that ends the process (see exitsOnEveryPath),
// forwarded as a print wrapper's own result (see forwarded), or a prompt
// next to a read of the terminal (see isPrompt). Each test resolves what
// it matches through the type information or the file's import table,
// never by text alone. What a function does is worked out once per
// function: a file can hold thousands of prints in one.
func (p *Pass) Deliberate(cur inspector.Cursor) bool {
	if InExample(cur) {
		return true
	}
	fn, ok := enclosingFuncCursor(cur)
	if !ok {
		return false
	}
	facts := p.funcFacts(fn)
	return facts.exits || forwarded(p.TypesInfo, cur, fn) || facts.isPrompt(cur)
}

// funcFacts is what the exemptions need to know about one function.
type funcFacts struct {
	exits bool               // every path through it ends the process
	reads []inspector.Cursor // its calls that read the terminal
}

func (p *Pass) funcFacts(fn inspector.Cursor) *funcFacts {
	if f, ok := p.facts[fn.Node()]; ok {
		return f
	}
	f := &funcFacts{exits: exitsOnEveryPath(p.TypesInfo, funcBody(fn))}
	for c := range fn.Preorder((*ast.CallExpr)(nil)) {
		if readsTerminalCall(p.TypesInfo, c.Node().(*ast.CallExpr)) {
			f.reads = append(f.reads, c)
		}
	}
	if p.facts == nil {
		p.facts = map[ast.Node]*funcFacts{}
	}
	p.facts[fn.Node()] = f
	return f
}

func funcBody(fn inspector.Cursor) *ast.BlockStmt {
	switch fn := fn.Node().(type) {
	case *ast.FuncDecl:
		return fn.Body
	case *ast.FuncLit:
		return fn.Body
	}
	return nil
}

// InExample reports whether cur is inside an example: a function without
// receiver, results or type parameters, named Example or Example followed
// by anything but a lower-case letter (the go tool's rule: Example,
// ExampleF, ExampleT_M, Example_suffix). Examples print on purpose: the go
// tool compares a godoc example's stdout with its // Output:. Modules also
// keep examples in non-test files, where nothing makes them niladic
// (go-redis's ExampleCircuitBreakerMonitor(poolHook *PoolHook) in
// example_hooks.go), so parameters are allowed; a result is not: a
// function that returns something is an API (ExampleConfig() *Config),
// and its prints are reported.
func InExample(cur inspector.Cursor) bool {
	for fd := range cur.Enclosing((*ast.FuncDecl)(nil)) {
		decl := fd.Node().(*ast.FuncDecl)
		return decl.Recv == nil && decl.Type.TypeParams == nil &&
			decl.Type.Results.NumFields() == 0 && isExampleName(decl.Name.Name)
	}
	return false
}

func isExampleName(name string) bool {
	rest, ok := strings.CutPrefix(name, "Example")
	if !ok {
		return false
	}
	if rest == "" {
		return true
	}
	r, _ := utf8.DecodeRuneInString(rest)
	return !unicode.IsLower(r)
}

// exitsOnEveryPath reports whether a function with this body ends the
// process: its last statement calls os.Exit or log.Fatal* and it has no
// return statement, so every path through it ends there. Such a function
// is a command's usage, help or version printer that happens to live in a
// library package (nats-server's PrintServerAndExit); its output is the
// point. A function that exits only in one branch (if err != nil {
// fmt.Println(err); os.Exit(1) }) does not qualify: that is a library
// killing its caller, and the print is still reported. Only the innermost
// function around a print counts: a closure inside a dying function may
// run anywhere.
func exitsOnEveryPath(info *types.Info, body *ast.BlockStmt) bool {
	if body == nil || len(body.List) == 0 {
		return false
	}
	last, ok := body.List[len(body.List)-1].(*ast.ExprStmt)
	if !ok {
		return false
	}
	call, ok := ast.Unparen(last.X).(*ast.CallExpr)
	if !ok || !exits(info, call) {
		return false
	}
	returns := false
	ast.Inspect(body, func(n ast.Node) bool {
		switch n.(type) {
		case *ast.FuncLit:
			return false // its returns leave the closure, not the function
		case *ast.ReturnStmt:
			returns = true
		}
		return !returns
	})
	return !returns
}

// exits reports whether call is os.Exit, log.Fatal, log.Fatalf or
// log.Fatalln, or one of the Fatal methods of *log.Logger: the calls that
// end the process.
func exits(info *types.Info, call *ast.CallExpr) bool {
	key, ok := Callee(info, call)
	if !ok {
		return false
	}
	switch key.Path {
	case "os":
		return key.Recv == "" && key.Name == "Exit"
	case "log":
		return (key.Recv == "" || key.Recv == "Logger") &&
			(key.Name == "Fatal" || key.Name == "Fatalf" || key.Name == "Fatalln")
	}
	return false
}

// forwarded reports whether the call at cur, in function fn, is the whole
// result of a return statement and prints something the function was given
// (one of its parameters or its receiver): return fmt.Println(a...). That
// is a print wrapper (go-spew's Println, testify's copy of it), whose
// contract is to print. A print returned without any of the function's
// inputs (return fmt.Println("here")) is not forwarding anything, and is
// reported.
func forwarded(info *types.Info, cur, fn inspector.Cursor) bool {
	call, ok := cur.Node().(*ast.CallExpr)
	if !ok {
		return false
	}
	parent := cur.Parent()
	for {
		if _, ok := parent.Node().(*ast.ParenExpr); !ok {
			break
		}
		parent = parent.Parent()
	}
	ret, ok := parent.Node().(*ast.ReturnStmt)
	if !ok || len(ret.Results) != 1 || ast.Unparen(ret.Results[0]) != call {
		return false
	}
	var fields []*ast.FieldList
	switch fn := fn.Node().(type) {
	case *ast.FuncDecl:
		fields = []*ast.FieldList{fn.Recv, fn.Type.Params}
	case *ast.FuncLit:
		fields = []*ast.FieldList{fn.Type.Params}
	}
	inputs := map[types.Object]bool{}
	for _, fl := range fields {
		if fl == nil {
			continue
		}
		for _, field := range fl.List {
			for _, name := range field.Names {
				if obj := info.Defs[name]; obj != nil {
					inputs[obj] = true
				}
			}
		}
	}
	used := false
	for _, arg := range call.Args {
		ast.Inspect(arg, func(n ast.Node) bool {
			if id, ok := n.(*ast.Ident); ok && inputs[info.Uses[id]] {
				used = true
			}
			return !used
		})
	}
	return used
}

// isPrompt reports whether the output call at cur is a prompt: output next
// to a read of the terminal (see readsTerminalCall) in the same function.
// A prompt must reach the terminal the answer is read from (helm's
// passphrase prompt), so it is not a leftover.
//
// Next to means: the read is somewhere in the block (or case) holding the
// print (print, then read in an if/else), or the block holding the read
// encloses the print (a reader made before a prompt loop). A read
// elsewhere in a long function does not make all its output a prompt:
// migrate's Main asks for confirmation deep in one case, and its version
// print in another branch is still reported.
func (f *funcFacts) isPrompt(cur inspector.Cursor) bool {
	if len(f.reads) == 0 {
		return false
	}
	printBlock, ok := innermostBlock(cur)
	if !ok {
		return false
	}
	for _, r := range f.reads {
		if within(printBlock.Node(), r.Node().Pos()) {
			return true
		}
		if readBlock, ok := innermostBlock(r); ok && within(readBlock.Node(), cur.Node().Pos()) {
			return true
		}
	}
	return false
}

// readsTerminalCall reports whether call reads the terminal: it is
// fmt.Scan, Scanf or Scanln, or ReadPassword of golang.org/x/term (or its
// old home golang.org/x/crypto/ssh/terminal), or it is handed standard
// input (bufio.NewReader(os.Stdin), os.Stdin.Read,
// term.ReadPassword(int(syscall.Stdin))). Storing os.Stdin (cmd.Stdin =
// os.Stdin) is not reading it.
func readsTerminalCall(info *types.Info, call *ast.CallExpr) bool {
	if path, name, ok := pkgMember(info, call.Fun); ok && readsTerminal(path, name) {
		return true
	}
	operands := call.Args
	if sel, ok := ast.Unparen(call.Fun).(*ast.SelectorExpr); ok {
		operands = append([]ast.Expr{sel.X}, operands...)
	}
	reads := false
	for _, e := range operands {
		ast.Inspect(e, func(n ast.Node) bool {
			if e, ok := n.(ast.Expr); ok && isStdin(info, e) {
				reads = true
			}
			return !reads
		})
	}
	return reads
}

// innermostBlock returns the statement list holding cur: a block, or the
// body of a case of a switch or select.
func innermostBlock(cur inspector.Cursor) (inspector.Cursor, bool) {
	for c := range cur.Enclosing((*ast.BlockStmt)(nil), (*ast.CaseClause)(nil), (*ast.CommClause)(nil)) {
		return c, true
	}
	return inspector.Cursor{}, false
}

// readsTerminal reports whether the package-level function path.name reads
// from the terminal.
func readsTerminal(path, name string) bool {
	switch path {
	case "fmt":
		return name == "Scan" || name == "Scanf" || name == "Scanln"
	case "golang.org/x/term", "golang.org/x/crypto/ssh/terminal":
		return name == "ReadPassword"
	}
	return false
}

// isStdin reports whether e is os.Stdin, or the standard input descriptor
// of syscall or golang.org/x/sys/unix (term.ReadPassword(int(syscall.Stdin))).
func isStdin(info *types.Info, e ast.Expr) bool {
	path, name, ok := pkgMember(info, e)
	if !ok || name != "Stdin" {
		return false
	}
	return path == "os" || path == "syscall" || path == "golang.org/x/sys/unix"
}

// pkgMember resolves e, a qualified identifier (pkg.Name) or a dot-imported
// one, to the import path and name of the package member it denotes. A
// qualifier resolves through the file's scope to the import it names, so
// this is exact even for packages toil lint does not load (golang.org/x/term
// is a fake package to its type checker, but the import's path is known); a
// local variable shadowing the package name resolves to the variable, and
// is no match.
func pkgMember(info *types.Info, e ast.Expr) (path, name string, ok bool) {
	switch e := ast.Unparen(e).(type) {
	case *ast.SelectorExpr:
		id, ok := ast.Unparen(e.X).(*ast.Ident)
		if !ok {
			return "", "", false
		}
		pkg, ok := info.Uses[id].(*types.PkgName)
		if !ok {
			return "", "", false
		}
		return pkg.Imported().Path(), e.Sel.Name, true
	case *ast.Ident:
		obj := info.Uses[e]
		if obj == nil || obj.Pkg() == nil || obj.Parent() != obj.Pkg().Scope() {
			return "", "", false
		}
		// A dot import, or the package's own member: the latter matches
		// only when linting fmt, os or syscall themselves.
		return obj.Pkg().Path(), obj.Name(), true
	}
	return "", "", false
}

// enclosingFuncCursor returns the innermost function declaration or literal
// around cur.
func enclosingFuncCursor(cur inspector.Cursor) (inspector.Cursor, bool) {
	for c := range cur.Enclosing((*ast.FuncDecl)(nil), (*ast.FuncLit)(nil)) {
		return c, true
	}
	return inspector.Cursor{}, false
}
