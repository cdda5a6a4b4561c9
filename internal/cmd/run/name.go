package run

import (
	"errors"
	"io/fs"
	"strings"

	"github.com/toilhq/toil/internal/runner"
	"github.com/toilhq/toil/layout"
)

// inLayout is how toil run runs a service: the name it runs under and,
// when toil.yaml runs it, that entry (whose listen address it then opens).
type inLayout struct {
	name   string
	note   string // why that name, for -v
	layout *layout.Layout
	entry  *layout.Service // nil when toil.yaml does not run the service
}

// serviceName is the name the service runs under: TOIL_SERVICE when the
// user set it; else its name in the toil.yaml around cwd when exactly one
// service there runs it, so toil run reads the same config section (and
// logs the same service) as toil dev, toil up and the exports do; else the
// name derived from PKG.NAME.
func serviceName(cwd string, spec runner.Spec, derived string, env func(string) (string, bool)) inLayout {
	if v, ok := env("TOIL_SERVICE"); ok && v != "" {
		return inLayout{name: v, note: "TOIL_SERVICE names it " + v}
	}
	path, err := layout.Find(cwd)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return inLayout{name: derived, note: "runs as " + derived + " (no toil.yaml here or above)"}
		}
		return inLayout{name: derived, note: err.Error()}
	}
	l, err := layout.Load(path)
	if err != nil {
		return inLayout{name: derived, note: "toil.yaml does not load, so its names are not used: " + err.Error()}
	}
	mod, err := runner.FindModule(cwd)
	if err != nil {
		return inLayout{name: derived}
	}
	want, err := runner.Locate(mod, cwd, spec)
	if err != nil {
		return inLayout{name: derived}
	}
	var names []string
	var entry *layout.Service
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
			entry = s
		}
	}
	switch len(names) {
	case 0:
		return inLayout{name: derived, note: "runs as " + derived + ": no service in " + path + " runs it"}
	case 1:
		return inLayout{name: names[0], note: "runs as " + names[0] + ", its name in " + path, layout: l, entry: entry}
	}
	return inLayout{name: derived, note: path + " runs it as " + strings.Join(names, ", ") + "; set TOIL_SERVICE to run it as one of them"}
}
