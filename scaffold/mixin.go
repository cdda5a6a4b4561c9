package scaffold

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/format"
	"go/parser"
	"go/token"
	"io/fs"
	"path"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
	"golang.org/x/tools/go/ast/astutil"

	"github.com/toilhq/toil/templates"
)

// checkWith validates the --with names for tmpl: known, once each, in
// the order of templates.Mixins, and only for a struct service.
func checkWith(with []string, tmpl templates.Template) ([]string, error) {
	seen := map[string]bool{}
	for _, w := range with {
		for _, name := range strings.Split(w, ",") {
			name = strings.TrimSpace(name)
			if name == "" {
				continue
			}
			if _, ok := templates.LookupMixin(name); !ok {
				return nil, &InputError{Flag: "--with", Msg: fmt.Sprintf("--with %s: unknown mixin %q; choose from %s, e.g. --with %s", name, name, mixinNames(), templates.Mixins[0].Name)}
			}
			seen[name] = true
		}
	}
	var out []string
	for _, m := range templates.Mixins {
		if seen[m.Name] {
			out = append(out, m.Name)
		}
	}
	if len(out) > 0 && tmpl.Func {
		return nil, &InputError{Flag: "--with", Msg: fmt.Sprintf("--with %s: the %s template's service is a function, which has no fields to hold a mixin; use --template worker (a struct with a Run loop) or --template http", strings.Join(out, ","), tmpl.Name)}
	}
	return out, nil
}

func mixinNames() string {
	var names []string
	for _, m := range templates.Mixins {
		names = append(names, m.Name)
	}
	return strings.Join(names, ", ")
}

// renderPackage renders the template's Go package into dir (slash-separated,
// relative to the module root) as package path.Base(dir) with import path
// importPath, the service renamed to service, with the fields and tests of
// the mixins named in with.
func renderPackage(dir, importPath string, tmpl templates.Template, service string, with []string) ([]File, error) {
	pkg := path.Base(dir)
	var mixins []templates.Mixin
	for _, name := range with {
		m, _ := templates.LookupMixin(name)
		mixins = append(mixins, m)
	}
	msg := tmpl.Message
	if msg == "" {
		msg = "Event"
	}
	var files []File
	holder := "" // the file that declares the service's struct
	hook := ""   // the test file that declares fieldsConfig
	root := tmpl.Name + "/" + templates.Package
	err := fs.WalkDir(templates.FS, root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		src, err := fs.ReadFile(templates.FS, p)
		if err != nil {
			return err
		}
		rel := strings.TrimPrefix(p, root+"/")
		data := src
		if strings.HasSuffix(rel, ".go") {
			data, err = renameGo(p, src, rename{
				pkg:        pkg,
				oldService: tmpl.Service,
				service:    service,
				oldImport:  templates.ImportRoot(tmpl.Name) + "/" + templates.Package,
				newImport:  importPath,
			})
			if err != nil {
				return err
			}
			var found bool
			switch {
			case len(mixins) == 0:
			case strings.HasSuffix(rel, "_test.go"):
				data, found, err = callTestConfigs(p, data, mixins)
				if found {
					hook = p
				}
			default:
				data, found, err = addFields(p, data, service, mixins, msg)
				if found {
					holder = p
				}
			}
			if err != nil {
				return err
			}
		}
		files = append(files, File{Path: dir + "/" + rel, Data: data, Mode: 0o644})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("render template %s: %w", tmpl.Name, err)
	}
	if len(mixins) > 0 && (holder == "" || hook == "") {
		return nil, fmt.Errorf("render template %s: no struct %s to add --with fields to, or no fieldsConfig in its tests", tmpl.Name, service)
	}
	for _, m := range mixins {
		mroot := "mixins/" + m.Name + "/" + templates.Package
		ents, err := fs.ReadDir(templates.FS, mroot)
		if err != nil {
			return nil, fmt.Errorf("render mixin %s: %w", m.Name, err)
		}
		for _, e := range ents {
			name := e.Name()
			switch {
			case name == "standin_test.go", !strings.HasSuffix(name, ".go"):
				continue // plays the template's service in toil's own tests
			case name == "event.go" && tmpl.Message != "":
				continue // the template has a message type of its own
			}
			p := mroot + "/" + name
			src, err := fs.ReadFile(templates.FS, p)
			if err != nil {
				return nil, err
			}
			r := rename{pkg: pkg, oldService: "Service", service: service,
				oldImport: templates.ImportRoot("mixins/"+m.Name) + "/" + templates.Package, newImport: importPath}
			if msg != "Event" {
				r.types = map[string]string{"Event": msg}
			}
			data, err := renameGo(p, src, r)
			if err != nil {
				return nil, err
			}
			dst := dir + "/" + name
			if slices.ContainsFunc(files, func(f File) bool { return f.Path == dst }) {
				return nil, fmt.Errorf("render mixin %s: %s is the template's already", m.Name, dst)
			}
			files = append(files, File{Path: dst, Data: data, Mode: 0o644})
		}
	}
	return files, nil
}

// addFields adds the mixins' fields to the struct named service, if src
// declares it, and their imports; it reports whether it did.
func addFields(name string, src []byte, service string, mixins []templates.Mixin, msg string) ([]byte, bool, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, name, src, parser.ParseComments)
	if err != nil {
		return nil, false, fmt.Errorf("parse %s: %w", name, err)
	}
	var st *ast.StructType
	for _, decl := range f.Decls {
		gd, ok := decl.(*ast.GenDecl)
		if !ok || gd.Tok != token.TYPE {
			continue
		}
		for _, spec := range gd.Specs {
			if ts := spec.(*ast.TypeSpec); ts.Name.Name == service {
				st, _ = ts.Type.(*ast.StructType)
			}
		}
	}
	if st == nil {
		return src, false, nil
	}
	for _, m := range mixins {
		for _, fl := range st.Fields.List {
			for _, n := range fl.Names {
				if strings.EqualFold(n.Name, m.Field) {
					return nil, false, &InputError{Flag: "--with", Msg: fmt.Sprintf("--with %s: %s already has a field %s; rename it, then add the mixin", m.Name, service, n.Name)}
				}
			}
		}
		typ := m.Type
		if strings.Contains(typ, "%s") {
			typ = fmt.Sprintf(typ, msg)
		}
		expr, err := parser.ParseExpr(typ)
		if err != nil {
			return nil, false, fmt.Errorf("mixin %s: field type %s: %w", m.Name, typ, err)
		}
		// The new field goes after the last exported field (or embed), the
		// mixins' place, before unexported state. Its position, that
		// field's end, keeps it on the next line when the file is printed.
		at := 0
		for i, fl := range st.Fields.List {
			if len(fl.Names) == 0 || fl.Names[0].IsExported() {
				at = i + 1
			}
		}
		pos := st.Fields.Opening + 1
		if at > 0 {
			prev := st.Fields.List[at-1]
			pos = prev.End()
			if prev.Comment != nil {
				pos = prev.Comment.End()
			}
		}
		field := &ast.Field{Names: []*ast.Ident{{NamePos: pos, Name: m.Field}}, Type: expr}
		st.Fields.List = slices.Insert(st.Fields.List, at, field)
		astutil.AddImport(fset, f, m.Import)
	}
	var b bytes.Buffer
	if err := format.Node(&b, fset, f); err != nil {
		return nil, false, fmt.Errorf("format %s: %w", name, err)
	}
	// Printing placed the new fields by position alone; gofmt aligns them.
	out, err := format.Source(b.Bytes())
	if err != nil {
		return nil, false, fmt.Errorf("format %s: %w", name, err)
	}
	return out, true, nil
}

// callTestConfigs makes fieldsConfig, if src declares it, return the
// config of each mixin's field in a test: fieldsConfig(t) becomes
// redisConfig(t) + dbConfig(t), so every test that runs the service gives
// its fields real servers.
func callTestConfigs(name string, src []byte, mixins []templates.Mixin) ([]byte, bool, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, name, src, parser.ParseComments)
	if err != nil {
		return nil, false, fmt.Errorf("parse %s: %w", name, err)
	}
	var fn *ast.FuncDecl
	for _, decl := range f.Decls {
		if d, ok := decl.(*ast.FuncDecl); ok && d.Recv == nil && d.Name.Name == "fieldsConfig" {
			fn = d
		}
	}
	if fn == nil {
		return src, false, nil
	}
	params := fn.Type.Params.List
	if len(params) != 1 || fn.Body == nil || len(fn.Body.List) == 0 {
		return nil, false, fmt.Errorf("%s: fieldsConfig is not func(t testing.TB) string { return ... }", name)
	}
	ret, ok := fn.Body.List[len(fn.Body.List)-1].(*ast.ReturnStmt)
	if !ok || len(ret.Results) != 1 {
		return nil, false, fmt.Errorf("%s: fieldsConfig does not end in a return of one value", name)
	}
	if len(params[0].Names) == 0 || params[0].Names[0].Name == "_" {
		params[0].Names = []*ast.Ident{ast.NewIdent("t")}
	}
	t := params[0].Names[0].Name
	expr := ret.Results[0]
	// The new nodes take the old result's position: without one, the
	// printer would pull the comments that follow into the expression.
	pos := expr.Pos()
	if lit, ok := expr.(*ast.BasicLit); ok && lit.Value == `""` {
		expr = nil // "" + x is x
	}
	for _, m := range mixins {
		call := &ast.CallExpr{Fun: &ast.Ident{NamePos: pos, Name: m.TestConfig}, Lparen: pos,
			Args: []ast.Expr{&ast.Ident{NamePos: pos, Name: t}}, Rparen: pos}
		if expr == nil {
			expr = call
		} else {
			expr = &ast.BinaryExpr{X: expr, OpPos: pos, Op: token.ADD, Y: call}
		}
	}
	ret.Results[0] = expr
	if fn.Doc != nil {
		// The template's doc says it has no fields yet.
		last := fn.Doc.List[len(fn.Doc.List)-1]
		if strings.HasSuffix(last.Text, "It has none yet.") {
			last.Text = strings.TrimSuffix(last.Text, "It has none yet.") + "It calls each field's."
		}
	}
	var b bytes.Buffer
	if err := format.Node(&b, fset, f); err != nil {
		return nil, false, fmt.Errorf("format %s: %w", name, err)
	}
	return b.Bytes(), true, nil
}

// renderConfig renders toil.config.yaml: the template's, with each mixin's
// section added under the service's key.
func renderConfig(tmpl templates.Template, with []string, data textData) ([]byte, error) {
	base, err := renderText(tmpl.Name+"/toil.config.yaml.tmpl", data)
	if err != nil {
		return nil, fmt.Errorf("render toil.config.yaml: %w", err)
	}
	if len(with) == 0 {
		return base, nil
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(base, &doc); err != nil {
		return nil, fmt.Errorf("template %s: toil.config.yaml: %w", tmpl.Name, err)
	}
	section := mapValue(doc.Content[0], data.Layout)
	if section == nil {
		return nil, fmt.Errorf("template %s: toil.config.yaml has no section %s", tmpl.Name, data.Layout)
	}
	if err := addMixinConfig(section, with, data); err != nil {
		return nil, err
	}
	return encodeYAML(&doc)
}

// addMixinConfig appends each mixin's config to section, a service's
// mapping.
func addMixinConfig(section *yaml.Node, with []string, data textData) error {
	section.Style &^= yaml.FlowStyle
	for _, name := range with {
		frag, err := renderText("mixins/"+name+"/config.yaml.tmpl", data)
		if err != nil {
			return fmt.Errorf("render the config of --with %s: %w", name, err)
		}
		var fdoc yaml.Node
		if err := yaml.Unmarshal(frag, &fdoc); err != nil {
			return fmt.Errorf("mixin %s: config.yaml.tmpl: %w", name, err)
		}
		m := fdoc.Content[0]
		// A comment above the fragment's first key is the document's head.
		if len(m.Content) > 0 && m.Content[0].HeadComment == "" {
			m.Content[0].HeadComment = fdoc.HeadComment + m.HeadComment
		}
		for i := 0; i+1 < len(m.Content); i += 2 {
			if mapValue(section, m.Content[i].Value) != nil {
				continue // already configured: the user's wins
			}
			section.Content = append(section.Content, m.Content[i], m.Content[i+1])
		}
	}
	return nil
}

// mapValue returns the value of key in the mapping m, or nil.
func mapValue(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

func encodeYAML(doc *yaml.Node) ([]byte, error) {
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
