package scaffold

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"

	"github.com/toilhq/toil/layout"
	"github.com/toilhq/toil/templates"
)

// ServiceSpec is what `toil new service PKG.NAME` adds to a module.
type ServiceSpec struct {
	Root     string            // the module's root directory
	Module   string            // its module path
	Pkg      string            // the package directory, slash-separated, relative to Root
	Name     string            // the service, as toil run takes it after the dot
	Template string            // a templates.All name; "http" when empty
	Vars     map[string]string // --set values
	With     []string          // --with mixin names
	// Force leaves a package file that is there already as it is (the
	// plan says identical or conflict) instead of refusing it.
	Force bool
}

// The toil.yaml and config file toil new service edits, at the module root.
const (
	LayoutFile = "toil.yaml"
	ConfigFile = "toil.config.yaml"
)

// AddService returns the files that add spec's service to its module: the
// package's new Go files, and toil.yaml and toil.config.yaml, edited (or
// created) with the service's entry and section. Edits keep the files'
// comments and order. Nothing is written; bad input is an InputError.
func AddService(spec ServiceSpec) ([]File, error) {
	pkg, err := checkPkg(spec.Pkg)
	if err != nil {
		return nil, err
	}
	if spec.Template == "" {
		spec.Template = templates.All[0].Name
	}
	tmpl, ok := templates.Lookup(spec.Template)
	if !ok {
		return nil, &InputError{Flag: "--template", Msg: fmt.Sprintf("unknown template %q: choose one of %s", spec.Template, templateNames())}
	}
	service := spec.Vars["service"]
	for k := range spec.Vars {
		if k != "service" {
			return nil, &InputError{Flag: "--set", Msg: fmt.Sprintf("--set %s=%s: unknown variable %q; the variables are: %s", k, spec.Vars[k], k, varNames())}
		}
	}
	if service == "" {
		r, size := utf8.DecodeRuneInString(spec.Name)
		service = string(unicode.ToUpper(r)) + spec.Name[size:]
	}
	if !token.IsIdentifier(spec.Name) || !token.IsIdentifier(service) || !token.IsExported(service) {
		return nil, &InputError{Flag: "PKG.NAME", Msg: fmt.Sprintf("%s.%s: %q is not a Go identifier; NAME names the service's Go type or function, e.g. toil new service %s.invoicer", spec.Pkg, spec.Name, spec.Name, spec.Pkg)}
	}
	with, err := checkWith(spec.With, tmpl)
	if err != nil {
		return nil, err
	}
	importPath := spec.Module + "/" + spec.Pkg
	files, err := renderPackage(spec.Pkg, importPath, tmpl, service, with)
	if err != nil {
		return nil, err
	}
	if err := checkPackageDir(filepath.Join(spec.Root, filepath.FromSlash(spec.Pkg)), spec.Pkg, pkg, tmpl.Name, files, spec.Force); err != nil {
		return nil, err
	}

	run := spec.Pkg + "." + strings.ToLower(service)
	data := textData{
		Name: pkg, Module: spec.Module, Template: tmpl.Name,
		Run: run, Section: pkg + "." + strings.ToLower(service), Layout: LayoutKey(pkg, service),
		Listens: tmpl.Listens, Backing: backingOf(with), NATS: hasNATS(with),
	}
	config, err := addConfigSection(filepath.Join(spec.Root, ConfigFile), tmpl, with, data)
	if err != nil {
		return nil, err
	}
	lay, err := addLayoutEntry(filepath.Join(spec.Root, LayoutFile), spec, data)
	if err != nil {
		return nil, err
	}
	files = append(files,
		File{Path: ConfigFile, Data: config, Mode: 0o644},
		File{Path: LayoutFile, Data: lay, Mode: 0o644})
	sort.Slice(files, func(i, j int) bool { return files[i].Path < files[j].Path })
	return files, nil
}

// checkPkg checks PKG of toil new service and returns its package name.
func checkPkg(p string) (string, error) {
	errf := func(format string, args ...any) error {
		return &InputError{Flag: "PKG.NAME", Msg: fmt.Sprintf(format, args...)}
	}
	if p == "" || strings.HasPrefix(p, "/") || strings.Contains(p, `\`) || path.Clean(p) != p || p == "." || strings.HasPrefix(p, "../") || p == ".." {
		return "", errf("%q is not a package directory inside the module: give a path relative to the module root without . or .., e.g. toil new service billing.invoicer or internal/billing.invoicer", p)
	}
	for _, el := range strings.Split(p, "/") {
		if strings.HasPrefix(el, ".") || strings.HasPrefix(el, "_") || el == "testdata" {
			return "", errf("%q: the go command ignores a directory named %s; choose another", p, el)
		}
	}
	name := path.Base(p)
	if err := CheckName(name); err != nil {
		return "", errf("package %s: %s", p, err.Error())
	}
	return name, nil
}

// checkPackageDir refuses to add files to dir that would not compile with
// what is there: a package of another name, a file of the same name, or a
// top-level name declared twice.
func checkPackageDir(dir, rel, pkg, tmpl string, files []File, force bool) error {
	ents, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read %s: %w", dir, err)
	}
	have := map[string]string{} // top-level name → file
	there := map[string]bool{}  // the new files that are there already
	fset := token.NewFileSet()
	for _, e := range ents {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".go") {
			continue
		}
		for _, f := range files {
			if path.Base(f.Path) == name && force {
				there[name] = true // left as it is: not written, no clash
			} else if path.Base(f.Path) == name {
				return &InputError{Flag: "PKG.NAME", Msg: fmt.Sprintf("%s/%s exists: the template's file of that name cannot be added; add the service to a package of its own, e.g. toil new service %s2.NAME (or --force to leave the file as it is)", rel, name, pkg)}
			}
		}
		src, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return err
		}
		f, err := parser.ParseFile(fset, name, src, parser.SkipObjectResolution)
		if err != nil {
			return &InputError{Flag: "PKG.NAME", Msg: fmt.Sprintf("%s/%s does not parse (%v): fix it first, or add the service to another package", rel, name, err)}
		}
		if n := f.Name.Name; n != pkg && n != pkg+"_test" {
			return &InputError{Flag: "PKG.NAME", Msg: fmt.Sprintf("%s holds package %s, not %s: name the package after its directory, or add the service to another one", rel, n, pkg)}
		}
		if f.Name.Name == pkg {
			for _, n := range declared(f) {
				have[n] = name
			}
		}
	}
	var clash []string
	for _, nf := range files {
		if !strings.HasSuffix(nf.Path, ".go") || there[path.Base(nf.Path)] {
			continue
		}
		f, err := parser.ParseFile(fset, nf.Path, nf.Data, parser.SkipObjectResolution)
		if err != nil || f.Name.Name != pkg {
			continue
		}
		for _, n := range declared(f) {
			if where, ok := have[n]; ok {
				clash = append(clash, fmt.Sprintf("%s (%s/%s)", n, rel, where))
			}
		}
	}
	if len(clash) > 0 {
		sort.Strings(clash)
		return &InputError{Flag: "PKG.NAME", Msg: fmt.Sprintf("package %s already declares %s, which the %s template declares too: add the service to a package of its own, e.g. toil new service %s2.NAME", rel, strings.Join(clash, ", "), tmpl, pkg)}
	}
	return nil
}

// declared lists the top-level names f declares (methods excluded).
func declared(f *ast.File) []string {
	var names []string
	for _, decl := range f.Decls {
		switch d := decl.(type) {
		case *ast.FuncDecl:
			if d.Recv == nil && d.Name.Name != "init" && d.Name.Name != "_" {
				names = append(names, d.Name.Name)
			}
		case *ast.GenDecl:
			for _, spec := range d.Specs {
				switch s := spec.(type) {
				case *ast.TypeSpec:
					names = append(names, s.Name.Name)
				case *ast.ValueSpec:
					for _, n := range s.Names {
						if n.Name != "_" {
							names = append(names, n.Name)
						}
					}
				}
			}
		}
	}
	return names
}

// readDoc reads a YAML file as a document node, or returns an empty
// mapping document when there is no file.
func readDoc(file string) (*yaml.Node, bool, error) {
	data, err := os.ReadFile(file)
	if os.IsNotExist(err) {
		return &yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{{Kind: yaml.MappingNode, Tag: "!!map"}}}, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, true, &InputError{Flag: "PKG.NAME", Msg: fmt.Sprintf("%s: %v; fix it, then run toil new service again", file, err)}
	}
	if len(doc.Content) == 0 {
		doc = yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{{Kind: yaml.MappingNode, Tag: "!!map"}}}
	}
	if doc.Content[0].Kind != yaml.MappingNode {
		return nil, true, &InputError{Flag: "PKG.NAME", Msg: fmt.Sprintf("%s is not a YAML mapping: toil new service adds keys to it", file)}
	}
	return &doc, true, nil
}

// addConfigSection adds the service's section, as the template and its
// mixins give it, to the config file's document.
func addConfigSection(file string, tmpl templates.Template, with []string, data textData) ([]byte, error) {
	doc, exists, err := readDoc(file)
	if err != nil {
		return nil, err
	}
	root := doc.Content[0]
	for _, key := range []string{data.Layout, data.Section} {
		if mapValue(root, key) != nil {
			return nil, &InputError{Flag: "PKG.NAME", Msg: fmt.Sprintf("%s already has a section %s: a service of that name is configured; choose another NAME", file, key)}
		}
	}
	rendered, err := renderConfig(tmpl, with, data)
	if err != nil {
		return nil, err
	}
	var tdoc yaml.Node
	if err := yaml.Unmarshal(rendered, &tdoc); err != nil {
		return nil, fmt.Errorf("template %s: toil.config.yaml: %w", tmpl.Name, err)
	}
	troot := tdoc.Content[0]
	for i := 0; i+1 < len(troot.Content); i += 2 {
		key := troot.Content[i]
		if i == 0 {
			if exists {
				// The template's head comment describes a whole file.
				key.HeadComment = ""
			} else {
				key.HeadComment = tdoc.HeadComment + troot.HeadComment + key.HeadComment
			}
		}
		root.Content = append(root.Content, key, troot.Content[i+1])
	}
	return encodeYAML(doc)
}

// addLayoutEntry adds the service to toil.yaml's services, and the backing
// systems its fields need that it does not have yet; the result must be a
// layout toil dev accepts.
func addLayoutEntry(file string, spec ServiceSpec, data textData) ([]byte, error) {
	doc, _, err := readDoc(file)
	if err != nil {
		return nil, err
	}
	root := doc.Content[0]
	if mapValue(root, "name") == nil {
		root.Content = append(root.Content, scalar("name"), scalar(layoutName(spec.Module)))
	}
	services := mapValue(root, "services")
	if services == nil {
		services = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		root.Content = append(root.Content, scalar("services"), services)
	}
	services.Style &^= yaml.FlowStyle
	key := data.Layout
	if mapValue(services, key) != nil {
		return nil, &InputError{Flag: "PKG.NAME", Msg: fmt.Sprintf("%s already has a service %s: choose another NAME", file, key)}
	}
	entry := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	entry.Content = append(entry.Content, scalar("run"), scalar(data.Run))
	if data.Listens {
		entry.Content = append(entry.Content, scalar("listen"), quoted(freeListen(services)))
	}
	cfg := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Style: yaml.FlowStyle, Content: []*yaml.Node{scalar(ConfigFile)}}
	entry.Content = append(entry.Content, scalar("config"), cfg)
	services.Content = append(services.Content, scalar(key), entry)

	if len(data.Backing) > 0 {
		backing := mapValue(root, "backing")
		if backing == nil {
			backing = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
			root.Content = append(root.Content, scalar("backing"), backing)
		}
		for _, b := range data.Backing {
			if mapValue(backing, b.Name) != nil {
				continue // there already: the services share it
			}
			var v yaml.Node
			if err := yaml.Unmarshal([]byte(b.YAML), &v); err != nil {
				return nil, fmt.Errorf("backing %s: %w", b.Name, err)
			}
			backing.Content = append(backing.Content, scalar(b.Name), v.Content[0])
		}
	}
	out, err := encodeYAML(doc)
	if err != nil {
		return nil, err
	}
	if _, err := layout.Parse(file, out); err != nil {
		return nil, fmt.Errorf("%s with the service added does not parse, so it is left as it is: %w", file, err)
	}
	return out, nil
}

// freeListen picks the first port from 8080 on that no service of the
// layout listens on.
func freeListen(services *yaml.Node) string {
	used := map[string]bool{}
	for i := 1; i < len(services.Content); i += 2 {
		if l := mapValue(services.Content[i], "listen"); l != nil {
			used[l.Value] = true
		}
	}
	for port := 8080; ; port++ {
		addr := fmt.Sprintf("127.0.0.1:%d", port)
		if !used[addr] && !used[fmt.Sprintf(":%d", port)] {
			return addr
		}
	}
}

// layoutName makes a toil.yaml system name from a module path.
func layoutName(module string) string {
	var b bytes.Buffer
	for _, r := range strings.ToLower(path.Base(module)) {
		if 'a' <= r && r <= 'z' || '0' <= r && r <= '9' || r == '-' {
			b.WriteRune(r)
		}
	}
	if b.Len() == 0 {
		return "app"
	}
	return b.String()
}

func scalar(v string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: v} }

func quoted(v string) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: v, Style: yaml.DoubleQuotedStyle}
}
