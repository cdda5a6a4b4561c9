package run

import (
	"errors"
	"io/fs"
	"strings"

	"github.com/toilhq/toil/internal/runner"
	"github.com/toilhq/toil/layout"
)

// serviceName is the name the service runs under: TOIL_SERVICE when the
// user set it; else its name in the toil.yaml around cwd when exactly one
// service there runs it, so toil run reads the same config section (and
// logs the same service) as toil dev, toil up and the exports do; else the
// name derived from PKG.NAME. note says why, for -v.
func serviceName(cwd string, spec runner.Spec, derived string, env func(string) (string, bool)) (name, note string) {
	if v, ok := env("TOIL_SERVICE"); ok && v != "" {
		return v, "TOIL_SERVICE names it " + v
	}
	path, err := layout.Find(cwd)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return derived, ""
		}
		return derived, err.Error()
	}
	l, err := layout.Load(path)
	if err != nil {
		return derived, "toil.yaml does not load, so its names are not used: " + err.Error()
	}
	mod, err := runner.FindModule(cwd)
	if err != nil {
		return derived, ""
	}
	want, err := runner.Locate(mod, cwd, spec)
	if err != nil {
		return derived, ""
	}
	var names []string
	for _, s := range l.Services {
		if s.Run == "" {
			continue
		}
		sp, err := runner.ParseSpec(s.Run)
		if err != nil || !strings.EqualFold(sp.Name, spec.Name) {
			continue
		}
		// The layout's PKG is relative to the module root, or to the
		// layout's directory when it starts with ./ (toil dev runs its
		// workers there).
		t, err := runner.Locate(mod, l.Dir, sp)
		if err == nil && t.Pattern == want.Pattern {
			names = append(names, s.Name)
		}
	}
	switch len(names) {
	case 0:
		return derived, ""
	case 1:
		return names[0], "runs as " + names[0] + ", its name in " + path
	}
	return derived, path + " runs it as " + strings.Join(names, ", ") + "; set TOIL_SERVICE to run it as one of them"
}
