package vettool

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"

	"golang.org/x/tools/go/analysis"

	"github.com/toilhq/toil/analyzers"
)

// settingsHash returns the hash of the lint settings that apply in dir.
func settingsHash(dir string) ([]byte, error) {
	s, _, err := analyzers.LoadSettings(dir)
	if err != nil {
		return nil, err
	}
	return s.Hash(), nil
}

// isSettingsFile reports whether a file named name holds lint settings.
func isSettingsFile(name string) bool { return name == analyzers.ConfigFile }

// vetAnalyzers returns the analyzers to hand unitchecker for args, a go vet
// call whose last argument is the package's vet.cfg, run in dir.
//
// Every analyzer of analyzers.All is in the list, so that every -NAME and
// -NAME.flag vet flag that `toil -flags` listed parses. Those the settings
// enable are configured from them; a rule the settings leave off runs only
// when its -NAME flag asks for it (go vet's own rule: any -NAME=true runs
// just those), and is otherwise inert.
func vetAnalyzers(args []string, dir string) ([]*analysis.Analyzer, error) {
	all := analyzers.All()
	var s analyzers.Settings
	if !vetxOnly(args[len(args)-1]) {
		// Dependencies (VetxOnly) report nothing and toil's rules export no
		// facts, so a dependency's own toil.yaml is never read.
		var err error
		if s, _, err = analyzers.LoadSettings(dir); err != nil {
			return nil, err
		}
	}
	enabled, err := s.Analyzers()
	if err != nil {
		return nil, err
	}
	configured := make(map[string]*analysis.Analyzer, len(enabled))
	for _, a := range enabled {
		configured[a.Name] = a
	}
	explicit := explicitlyEnabled(args[:len(args)-1])
	list := make([]*analysis.Analyzer, 0, len(all))
	for _, a := range all {
		switch c, on := configured[a.Name]; {
		case on:
			list = append(list, c)
		case explicit[a.Name]:
			list = append(list, a)
		default:
			list = append(list, inert(a))
		}
	}
	return list, nil
}

// inert returns a copy of a that does nothing and requires nothing, but
// keeps a's name and flags.
func inert(a *analysis.Analyzer) *analysis.Analyzer {
	c := *a
	c.Requires = nil
	c.FactTypes = nil
	c.Run = func(*analysis.Pass) (any, error) {
		// unitchecker checks the result's type against ResultType.
		if a.ResultType == nil {
			return nil, nil
		}
		return reflect.Zero(a.ResultType).Interface(), nil
	}
	return &c
}

// explicitlyEnabled returns the names set to true by flags like -NAME,
// --NAME or -NAME=true in args. Sub-flags (-NAME.flag) and malformed flags
// are left to the flag package.
func explicitlyEnabled(args []string) map[string]bool {
	on := map[string]bool{}
	for _, arg := range args {
		name := strings.TrimLeft(arg, "-")
		if name == arg || strings.Contains(name, ".") {
			continue
		}
		val := "true"
		if i := strings.IndexByte(name, '='); i >= 0 {
			name, val = name[:i], name[i+1:]
		}
		if b, err := strconv.ParseBool(val); err == nil {
			on[name] = b
		}
	}
	return on
}

// vetxOnly reports whether the vet.cfg at path asks only for facts, as go
// vet does for every dependency. An unreadable config is not VetxOnly:
// unitchecker reports it.
func vetxOnly(path string) bool {
	data, err := os.ReadFile(path)
	if err != nil {
		return false
	}
	var cfg struct{ VetxOnly bool }
	return json.Unmarshal(data, &cfg) == nil && cfg.VetxOnly
}

// inModule reports whether dir is inside a Go module or workspace: only
// there can `go vet ./...` reach packages below it, so only there is a walk
// for nested settings files worth its cost.
func inModule(dir string) bool {
	for {
		for _, name := range []string{"go.mod", "go.work"} {
			if _, err := os.Stat(filepath.Join(dir, name)); err == nil || !errors.Is(err, fs.ErrNotExist) {
				return true
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return false
		}
		dir = parent
	}
}
