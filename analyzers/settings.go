package analyzers

import (
	"cmp"
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/toilhq/toil/analyzers/internal/rule"
	"go.yaml.in/yaml/v3"
	"golang.org/x/tools/go/analysis"
)

// ConfigFile is the name of the file holding the `lint:` settings.
const ConfigFile = "toil.yaml"

// Settings are the `lint:` section of toil.yaml:
//
//	lint:
//	  enable: [logdebug]             # opt-in rules to turn on
//	  disable: [fmtprint]            # rules to turn off (also "directives")
//	  command-patterns:              # more command packages, where printing is output
//	    - example.com/shop/tools/...
//	  dump-tests: true               # dumpcall also in _test.go files
type Settings struct {
	Enable, Disable []string // rule names
	// CommandPatterns are import-path patterns of packages to treat as
	// command packages ("..." matches any string, "*" one path element),
	// for every rule with a command-package exemption.
	CommandPatterns []string
	// DumpTests makes dumpcall report in _test.go files too.
	DumpTests bool
}

// keys are the known `lint:` keys, sorted, for error messages.
var keys = []string{"command-patterns", "disable", "dump-tests", "enable"}

// LoadSettings finds toil.yaml in dir or the nearest parent, stopping at the
// module root (the directory with go.mod) or the filesystem root, and reads
// its `lint:` section strictly: an unknown key, an unknown rule or a bad
// pattern is an error naming the file and line. Other top-level keys belong
// to other parts of toil and are not read. With no toil.yaml, it returns the
// zero Settings and an empty path.
func LoadSettings(dir string) (s Settings, path string, err error) {
	path, err = findConfig(dir)
	if err != nil || path == "" {
		return Settings{}, "", err
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return Settings{}, "", fmt.Errorf("read lint settings: %w", err)
	}
	s, err = ParseSettings(path, data)
	return s, path, err
}

func findConfig(dir string) (string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("find %s from %s: %w", ConfigFile, dir, err)
	}
	for {
		p := filepath.Join(dir, ConfigFile)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		} else if !errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("find %s: %w", ConfigFile, err)
		}
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return "", nil // the module root: settings never come from outside the module
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", nil
		}
		dir = parent
	}
}

// ParseSettings reads the `lint:` section of a toil.yaml's content; path is
// only used in error messages.
func ParseSettings(path string, data []byte) (Settings, error) {
	var s Settings
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return s, fmt.Errorf("%s: %w", path, err)
	}
	if len(doc.Content) == 0 {
		return s, nil // empty file
	}
	top := doc.Content[0]
	if top.Kind != yaml.MappingNode {
		return s, nil // not ours to judge: the layout parser reports it
	}
	var lint *yaml.Node
	for i := 0; i+1 < len(top.Content); i += 2 {
		if top.Content[i].Value == "lint" {
			lint = top.Content[i+1]
		}
	}
	if lint == nil || lint.Kind == yaml.ScalarNode && lint.Tag == "!!null" {
		return s, nil
	}
	errf := func(n *yaml.Node, format string, args ...any) error {
		return fmt.Errorf("%s:%d: lint: %s", path, n.Line, fmt.Sprintf(format, args...))
	}
	if lint.Kind != yaml.MappingNode {
		return s, errf(lint, "want a mapping with keys %s", strings.Join(keys, ", "))
	}
	for i := 0; i+1 < len(lint.Content); i += 2 {
		k, v := lint.Content[i], lint.Content[i+1]
		var err error
		switch k.Value {
		case "enable":
			s.Enable, err = ruleList(v, k.Value, errf)
		case "disable":
			s.Disable, err = ruleList(v, k.Value, errf)
		case "command-patterns":
			s.CommandPatterns, err = stringList(v, k.Value, errf)
			for j, p := range s.CommandPatterns {
				if _, perr := rule.CompilePattern(p); perr != nil && err == nil {
					err = errf(v.Content[j], "command-patterns: %v", perr)
				}
			}
		case "dump-tests":
			if v.Kind != yaml.ScalarNode || v.Decode(&s.DumpTests) != nil {
				err = errf(v, "dump-tests: want true or false, got %q", v.Value)
			}
		default:
			err = errf(k, "unknown key %q; known keys: %s", k.Value, strings.Join(keys, ", "))
		}
		if err != nil {
			return Settings{}, err
		}
	}
	return s, nil
}

type errorf func(n *yaml.Node, format string, args ...any) error

func stringList(v *yaml.Node, key string, errf errorf) ([]string, error) {
	if v.Kind != yaml.SequenceNode {
		return nil, errf(v, "%s: want a list, like %s: [a, b]", key, key)
	}
	out := make([]string, 0, len(v.Content))
	for _, item := range v.Content {
		if item.Kind != yaml.ScalarNode || item.Tag != "!!str" && item.Tag != "" {
			return nil, errf(item, "%s: want a string, got %q", key, item.Value)
		}
		out = append(out, item.Value)
	}
	return out, nil
}

func ruleList(v *yaml.Node, key string, errf errorf) ([]string, error) {
	names, err := stringList(v, key, errf)
	if err != nil {
		return nil, err
	}
	for i, n := range names {
		if !validName(n) {
			return nil, errf(v.Content[i], "%s: unknown rule %q; known rules: %s", key, n, strings.Join(ruleNames(), ", "))
		}
	}
	return names, nil
}

func ruleNames() []string {
	return append(slices.Clone(rule.Names), DirectivesName)
}

func validName(n string) bool { return slices.Contains(ruleNames(), n) }

// Analyzers returns fresh analyzers for the configured set: the default-on
// rules, plus Enable, minus Disable, then the directives checker (unless
// disabled) requiring exactly those rules. Settings reach the analyzers
// through their flags (-dumpcall.tests, -fmtprint.cmdpatterns, ...), the
// same flags go vet users pass by hand. An unknown rule name, or one both
// enabled and disabled, is an error.
func (s Settings) Analyzers() ([]*analysis.Analyzer, error) {
	for _, n := range slices.Concat(s.Enable, s.Disable) {
		if !validName(n) {
			return nil, fmt.Errorf("unknown rule %q; known rules: %s", n, strings.Join(ruleNames(), ", "))
		}
	}
	for _, n := range s.Enable {
		if slices.Contains(s.Disable, n) {
			return nil, fmt.Errorf("rule %q is both enabled and disabled; keep one", n)
		}
	}
	patterns := strings.Join(s.CommandPatterns, ",")
	var rules []*analysis.Analyzer
	for _, sp := range specs {
		on := (sp.on || slices.Contains(s.Enable, sp.name)) && !slices.Contains(s.Disable, sp.name)
		if !on {
			continue
		}
		a := sp.New()
		if f := a.Flags.Lookup("cmdpatterns"); f != nil {
			if err := f.Value.Set(patterns); err != nil {
				return nil, fmt.Errorf("lint command-patterns: %w", err)
			}
		}
		if s.DumpTests {
			if f := a.Flags.Lookup("tests"); f != nil {
				if err := f.Value.Set("true"); err != nil {
					return nil, err
				}
			}
		}
		rules = append(rules, a)
	}
	if len(rules) == 0 || slices.Contains(s.Disable, DirectivesName) {
		return rules, nil
	}
	return append(rules, directivesFor(rules)), nil
}

// Hash is a stable digest of the effective settings: the analyzers that
// would run and every flag value. go vet caches results by the tool's
// -V=full line, so the vettool folds this into its build ID.
func (s Settings) Hash() []byte {
	h := sha256.New()
	as, err := s.Analyzers()
	if err != nil {
		fmt.Fprintf(h, "invalid: %v\n", err)
	}
	slices.SortFunc(as, func(a, b *analysis.Analyzer) int { return cmp.Compare(a.Name, b.Name) })
	for _, a := range as {
		fmt.Fprintf(h, "%s\n", a.Name)
		a.Flags.VisitAll(func(f *flag.Flag) {
			fmt.Fprintf(h, "%s.%s=%s\n", a.Name, f.Name, f.Value.String())
		})
	}
	return h.Sum(nil)
}
