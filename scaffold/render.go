// Package scaffold renders the templates of `toil new` into a new module and
// writes it safely: into a temp dir first, renamed into place only when
// complete, never over a file that is there.
//
// Rendering is gonew's: a template's Go code is real Go (see package
// templates), and its package name, service identifier and import paths are
// rewritten with go/ast, so what toil's own tests build is what users get.
// text/template renders only the non-Go files (toil.yaml, README, CI).
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
	"regexp"
	"slices"
	"sort"
	"strings"
	"text/template"

	"go.yaml.in/yaml/v3"
	"golang.org/x/mod/module"

	"github.com/toilhq/toil/templates"
)

// ToilModule is the framework's module path, which every generated module requires.
const ToilModule = "github.com/toilhq/toil"

// goDirective is the go line of a generated go.mod: toil's own minimum.
const goDirective = "1.26.0"

// Spec is what to generate.
type Spec struct {
	Name     string            // the package, its directory and the toil.yaml system name
	Module   string            // the module path; Name when empty
	Template string            // a templates.All name; "http" when empty
	Vars     map[string]string // --set values; see Vars
	With     []string          // templates.Mixins names: fields --with adds

	// ToilSource, when set, is a checkout of toil the new module's go.mod
	// replaces github.com/toilhq/toil with (toil is not published yet).
	ToilSource string
	// ToilVersion is the version of toil to require: v0.0.0 with ToilSource.
	ToilVersion string
}

// Var is a variable a template takes through --set.
type Var struct {
	Key  string
	Help string
}

// Vars lists the --set variables.
var Vars = []Var{
	{Key: "service", Help: "the service's Go identifier (default: Server, Worker or Run, by template)"},
}

// File is one file of a generated module.
type File struct {
	Path string // slash-separated, relative to the module root
	Data []byte
	Mode fs.FileMode
}

// Render returns the files of the module spec describes, sorted by path.
// go.sum is not among them: Stage makes it with go mod tidy.
func Render(spec Spec) ([]File, error) {
	spec, tmpl, err := check(spec)
	if err != nil {
		return nil, err
	}
	service := tmpl.Service
	if s := spec.Vars["service"]; s != "" {
		service = s
	}
	if service != tmpl.Service {
		taken, err := topLevelNames(tmpl.Name)
		if err != nil {
			return nil, err
		}
		if taken[service] {
			return nil, &InputError{Flag: "--set", Msg: fmt.Sprintf("--set service=%s: the %s template already declares %s; choose another name", service, tmpl.Name, service)}
		}
	}
	pkg, err := renderPackage(spec.Name, spec.Module+"/"+spec.Name, tmpl, service, spec.With)
	if err != nil {
		return nil, err
	}
	files := pkg
	data := newTextData(spec, tmpl, service)
	config, err := renderConfig(tmpl, spec.With, data)
	if err != nil {
		return nil, err
	}
	files = append(files, File{Path: "toil.config.yaml", Data: config, Mode: 0o644})
	for _, t := range textFiles {
		out, err := renderText("files/"+t.src, data)
		if err != nil {
			return nil, fmt.Errorf("render %s: %w", t.dst, err)
		}
		files = append(files, File{Path: t.dst, Data: out, Mode: 0o644})
	}

	files = append(files, File{Path: "go.mod", Data: goMod(spec), Mode: 0o644})
	answers, err := templateYAML(spec, tmpl, service)
	if err != nil {
		return nil, err
	}
	files = append(files, File{Path: ".toil/template.yaml", Data: answers, Mode: 0o644})
	sort.Slice(files, func(i, j int) bool { return files[i].Path < files[j].Path })
	return files, nil
}

// RunName is what toil run and toil.yaml take for the generated service:
// NAME.service. In a module whose path is NAME too, toil run still finds
// the NAME/ directory: a directory under the module root wins.
func RunName(name, service string) string {
	return name + "." + strings.ToLower(service)
}

// LayoutKey is the service's name in toil.yaml: PKG-SERVICE, lower-cased,
// as layout takes names (letters, digits, -). It must not be the package
// name: toil.config.yaml's section pkg.service nests under pkg.
func LayoutKey(pkg, service string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(pkg + "-" + service) {
		if 'a' <= r && r <= 'z' || '0' <= r && r <= '9' || r == '-' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// topLevelNames returns the names a template's package declares, which
// the service cannot be renamed to.
func topLevelNames(tmpl string) (map[string]bool, error) {
	names := map[string]bool{}
	err := fs.WalkDir(templates.FS, tmpl, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".go") {
			return err
		}
		src, err := fs.ReadFile(templates.FS, p)
		if err != nil {
			return err
		}
		f, err := parser.ParseFile(token.NewFileSet(), p, src, parser.SkipObjectResolution)
		if err != nil {
			return fmt.Errorf("parse template %s: %w", p, err)
		}
		for _, decl := range f.Decls {
			switch d := decl.(type) {
			case *ast.FuncDecl:
				if d.Recv == nil {
					names[d.Name.Name] = true
				}
			case *ast.GenDecl:
				for _, spec := range d.Specs {
					switch s := spec.(type) {
					case *ast.TypeSpec:
						names[s.Name.Name] = true
					case *ast.ValueSpec:
						for _, n := range s.Names {
							names[n.Name] = true
						}
					}
				}
			}
		}
		return nil
	})
	return names, err
}

// textFiles maps the files/ sources to where they go: embed leaves out
// names starting with a dot, so the sources have none.
var textFiles = []struct{ src, dst string }{
	{"toil.yaml.tmpl", "toil.yaml"},
	{"README.md.tmpl", "README.md"},
	{"gitignore.tmpl", ".gitignore"},
	{"pre-commit-config.yaml.tmpl", ".pre-commit-config.yaml"},
	{"ci.yml.tmpl", ".github/workflows/ci.yml"},
}

type textData struct {
	Name, Module, Template, Run string
	Section                     string // PKG.NAME as toil run derives it outside a layout: pkg.service
	Layout                      string // its name in toil.yaml, which toil dev runs it as
	Listens                     bool
	Replace                     string    // the toil checkout go.mod replaces toil with, if any
	ToilRev                     string    // a git ref of toil for CI and pre-commit
	Backing                     []backing // what the --with fields need toil.yaml to run
	// NATS is set by --with queue, whose backing NATS toil.yaml runs: a
	// consumer's or pipeline's in: then reads that bus too, not mem://.
	NATS bool
	Apt  []string // the Debian packages CI installs for the --with fields' tests
}

// backing is one entry of toil.yaml's backing:, as YAML.
type backing struct{ Name, YAML string }

func newTextData(spec Spec, tmpl templates.Template, service string) textData {
	data := textData{
		Name:     spec.Name,
		Module:   spec.Module,
		Template: tmpl.Name,
		Run:      RunName(spec.Name, service),
		Section:  RunName(spec.Name, service),
		Layout:   LayoutKey(spec.Name, service),
		Listens:  tmpl.Listens,
		Replace:  spec.ToilSource,
		ToilRev:  spec.ToilVersion,
		Backing:  backingOf(spec.With),
		NATS:     hasNATS(spec.With),
		Apt:      aptOf(spec.With),
	}
	if spec.ToilSource != "" || data.ToilRev == "" || data.ToilRev == "v0.0.0" {
		// Nothing is tagged yet: CI and pre-commit follow the main branch.
		data.ToilRev = "main"
	}
	if spec.ToilSource == "" && spec.ToilVersion != "" && strings.HasPrefix(spec.ToilVersion, "v") && !strings.Contains(spec.ToilVersion, "-") {
		data.ToilRev = spec.ToilVersion
	}
	return data
}

func backingOf(with []string) []backing {
	var out []backing
	for _, name := range with {
		m, _ := templates.LookupMixin(name)
		if m.Backing != "" {
			out = append(out, backing{Name: m.BackingName, YAML: m.Backing})
		}
	}
	return out
}

// hasNATS reports whether a --with field makes toil.yaml run NATS.
func hasNATS(with []string) bool {
	for _, b := range backingOf(with) {
		if b.Name == "nats" {
			return true
		}
	}
	return false
}

func aptOf(with []string) []string {
	var out []string
	for _, name := range with {
		if m, _ := templates.LookupMixin(name); m.Apt != "" && !slices.Contains(out, m.Apt) {
			out = append(out, m.Apt)
		}
	}
	return out
}

// renderText executes the text/template src of templates.FS with data.
func renderText(src string, data any) ([]byte, error) {
	text, err := fs.ReadFile(templates.FS, src)
	if err != nil {
		return nil, err
	}
	tt, err := template.New(path.Base(src)).Option("missingkey=error").Parse(string(text))
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if err := tt.Execute(&b, data); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func goMod(spec Spec) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "module %s\n\ngo %s\n\nrequire %s %s\n", spec.Module, goDirective, ToilModule, spec.ToilVersion)
	if spec.ToilSource != "" {
		fmt.Fprintf(&b, "\nreplace %s => %s\n", ToilModule, modfileQuote(spec.ToilSource))
	}
	return b.Bytes()
}

// modfileQuote quotes a replacement directory the way go.mod needs when it
// holds a space or a quote.
func modfileQuote(s string) string {
	if strings.ContainsAny(s, " \t\"'`\\") {
		return fmt.Sprintf("%q", s)
	}
	return s
}

// TemplateFile is .toil/template.yaml: how the module was generated, for a
// later `toil update`. toil writes it; nobody edits it.
type TemplateFile struct {
	Template  string            `yaml:"template"`
	Version   int               `yaml:"version"`
	Toil      string            `yaml:"toil"`
	Variables map[string]string `yaml:"variables"`
	With      []string          `yaml:"with,omitempty"`
}

func templateYAML(spec Spec, tmpl templates.Template, service string) ([]byte, error) {
	vars := map[string]string{"name": spec.Name, "module": spec.Module, "service": service}
	for k, v := range spec.Vars {
		vars[k] = v
	}
	out, err := yaml.Marshal(TemplateFile{Template: tmpl.Name, Version: templates.Version, Toil: spec.ToilVersion, Variables: vars, With: spec.With})
	if err != nil {
		return nil, fmt.Errorf("render .toil/template.yaml: %w", err)
	}
	return append([]byte("# Written by toil new: how this module was generated. Do not edit.\n"), out...), nil
}

type rename struct {
	pkg                 string // the new package name
	oldService, service string // the service's identifier, before and after
	oldImport           string // the template package's import path
	newImport           string
	// types renames other identifiers of the package: a mixin's test
	// names the message type Event, which is the consumer template's Job.
	types map[string]string
}

// renameGo rewrites one template Go file: its package clause, the imports
// of the template's own package, the service's identifier wherever it names
// the service (never a selector of another package: toiltest.Run stays),
// and the same names in comments.
func renameGo(name string, src []byte, r rename) ([]byte, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, name, src, parser.ParseComments)
	if err != nil {
		return nil, fmt.Errorf("parse template %s: %w", name, err)
	}
	switch f.Name.Name {
	case templates.Package:
		f.Name.Name = r.pkg
	case templates.Package + "_test":
		f.Name.Name = r.pkg + "_test"
	}
	for _, imp := range f.Imports {
		p := strings.Trim(imp.Path.Value, `"`)
		if p == r.oldImport || strings.HasPrefix(p, r.oldImport+"/") {
			imp.Path.Value = fmt.Sprintf("%q", r.newImport+strings.TrimPrefix(p, r.oldImport))
		}
	}
	// Selectors name things in other packages (or fields and methods): only
	// hello.Server, from an external test, is the service.
	skip := map[*ast.Ident]bool{}
	ast.Inspect(f, func(n ast.Node) bool {
		sel, ok := n.(*ast.SelectorExpr)
		if !ok {
			return true
		}
		if x, ok := sel.X.(*ast.Ident); !ok || x.Name != templates.Package {
			skip[sel.Sel] = true
		}
		return true
	})
	ast.Inspect(f, func(n ast.Node) bool {
		id, ok := n.(*ast.Ident)
		if !ok || skip[id] || id == f.Name {
			return true
		}
		switch id.Name {
		case r.oldService:
			id.Name = r.service
		case templates.Package:
			id.Name = r.pkg // the package qualifier in an external test
		default:
			if n, ok := r.types[id.Name]; ok {
				id.Name = n
			}
		}
		return true
	})
	for _, cg := range f.Comments {
		for _, c := range cg.List {
			c.Text = renameText(c.Text, r)
		}
	}
	var b bytes.Buffer
	if err := format.Node(&b, fset, f); err != nil {
		return nil, fmt.Errorf("format %s: %w", name, err)
	}
	return b.Bytes(), nil
}

var pkgWord = regexp.MustCompile(`\b` + templates.Package + `\b`)

// renameText renames the template's names in a comment: "hello.server",
// "hello-server" (its toil.yaml name), "TOIL_HELLO_SERVER_*", "Package
// hello", "Server is ...".
func renameText(s string, r rename) string {
	oldRun := templates.Package + "." + strings.ToLower(r.oldService)
	newRun := r.pkg + "." + strings.ToLower(r.service)
	s = strings.ReplaceAll(s, oldRun, newRun)
	s = strings.ReplaceAll(s, LayoutKey(templates.Package, r.oldService), LayoutKey(r.pkg, r.service))
	s = strings.ReplaceAll(s, "TOIL_"+strings.ToUpper(templates.Package)+"_"+strings.ToUpper(r.oldService)+"_",
		"TOIL_"+strings.ToUpper(r.pkg)+"_"+strings.ToUpper(r.service)+"_")
	s = pkgWord.ReplaceAllString(s, r.pkg)
	if r.service != r.oldService {
		s = regexp.MustCompile(`\b`+regexp.QuoteMeta(r.oldService)+`\b`).ReplaceAllString(s, r.service)
	}
	for old, n := range r.types {
		s = regexp.MustCompile(`\b`+regexp.QuoteMeta(old)+`\b`).ReplaceAllString(s, n)
	}
	return s
}

// check validates spec and fills in its defaults.
func check(spec Spec) (Spec, templates.Template, error) {
	if err := CheckName(spec.Name); err != nil {
		return spec, templates.Template{}, err
	}
	if spec.Module == "" {
		spec.Module = spec.Name
	}
	if err := CheckModule(spec.Module); err != nil {
		return spec, templates.Template{}, err
	}
	if spec.Template == "" {
		spec.Template = templates.All[0].Name
	}
	tmpl, ok := templates.Lookup(spec.Template)
	if !ok {
		return spec, tmpl, &InputError{Flag: "--template", Msg: fmt.Sprintf("unknown template %q: choose one of %s", spec.Template, templateNames())}
	}
	for k, v := range spec.Vars {
		switch k {
		case "service":
			if !token.IsIdentifier(v) || !token.IsExported(v) {
				return spec, tmpl, &InputError{Flag: "--set", Msg: fmt.Sprintf("--set service=%s: the service is a Go type or function and must be an exported identifier, e.g. service=Billing", v)}
			}
		default:
			return spec, tmpl, &InputError{Flag: "--set", Msg: fmt.Sprintf("--set %s=%s: unknown variable %q; the variables are: %s", k, v, k, varNames())}
		}
	}
	with, err := checkWith(spec.With, tmpl)
	if err != nil {
		return spec, tmpl, err
	}
	spec.With = with
	if spec.ToilVersion == "" {
		spec.ToilVersion = "v0.0.0"
	}
	return spec, tmpl, nil
}

func templateNames() string {
	var names []string
	for _, t := range templates.All {
		names = append(names, t.Name)
	}
	return strings.Join(names, ", ")
}

func varNames() string {
	var names []string
	for _, v := range Vars {
		names = append(names, v.Key)
	}
	return strings.Join(names, ", ")
}

// InputError is a problem with what the user asked for; Flag names the
// flag or argument it came from.
type InputError struct {
	Flag string // "NAME", "--module", ...
	Msg  string
}

func (e *InputError) Error() string { return e.Msg }

// CheckName checks a service name given to toil new: it becomes a package
// name, a directory and the toil.yaml system name, so it must be a
// lowercase Go identifier and not a keyword.
func CheckName(name string) error {
	errf := func(format string, args ...any) error {
		return &InputError{Flag: "NAME", Msg: fmt.Sprintf(format, args...)}
	}
	switch {
	case name == "":
		return errf("a name is needed: toil new NAME, e.g. toil new billing")
	case strings.ContainsAny(name, `/\`) || name == "." || name == "..":
		return errf("%q is a path, not a name: the name becomes the package and its directory; choose where the module goes with --dir, e.g. toil new %s --dir %s", name, suggest(path.Base(strings.ReplaceAll(name, `\`, "/"))), name)
	case token.IsKeyword(name):
		return errf("%q is a Go keyword and cannot name a package: choose another name, e.g. %s", name, name+"s")
	case !token.IsIdentifier(name):
		return errf("%q is not a Go identifier: the name becomes a package name, so use letters and digits, starting with a letter, e.g. %s", name, suggest(name))
	case name == "main":
		return errf(`"main" cannot name a service's package: a main package cannot be imported; choose another name`)
	case strings.ToLower(name) != name || strings.Contains(name, "_"):
		return errf("%q: use lowercase letters and digits only (it names the package, its directory and the toil.yaml system), e.g. %s", name, suggest(name))
	}
	return nil
}

// suggest turns s into a name CheckName accepts, as a hint.
func suggest(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if 'a' <= r && r <= 'z' || '0' <= r && r <= '9' && b.Len() > 0 {
			b.WriteRune(r)
		}
	}
	if b.Len() == 0 || token.IsKeyword(b.String()) {
		return "mysvc"
	}
	return b.String()
}

// CheckModule checks a module path.
func CheckModule(mod string) error {
	if err := module.CheckImportPath(mod); err != nil {
		return &InputError{Flag: "--module", Msg: fmt.Sprintf("--module %q is not a valid module path: %v; use a path such as example.com/team/billing", mod, unwrapPathErr(err))}
	}
	if path.IsAbs(mod) || strings.HasPrefix(mod, ".") {
		return &InputError{Flag: "--module", Msg: fmt.Sprintf("--module %q is a file path, not a module path; use a path such as example.com/team/billing", mod)}
	}
	return nil
}

func unwrapPathErr(err error) error {
	var ie *module.InvalidPathError
	if e, ok := err.(*module.InvalidPathError); ok {
		ie = e
		return ie.Err
	}
	return err
}
