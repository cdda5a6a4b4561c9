// Package golangci registers toil's analyzers as a golangci-lint v2 module
// plugin named "toil".
//
// Build a golangci-lint that includes it with `golangci-lint custom` and a
// .custom-gcl.yml listing this package, then enable the linter "toil" in
// .golangci.yml under linters.enable, with its settings under
// linters.settings.custom.toil.settings: the keys of toil.yaml's lint:
// section (enable, disable, command-patterns, dump-tests). docs/lint.md has
// both files in full.
package golangci

import (
	"fmt"

	"github.com/golangci/plugin-module-register/register"
	"golang.org/x/tools/go/analysis"

	"github.com/toilhq/toil/analyzers"
)

// Name is the linter's name in .golangci.yml, and in //nolint:toil.
const Name = "toil"

func init() {
	register.Plugin(Name, New)
}

// Settings are the plugin's settings in .golangci.yml
// (linters.settings.custom.toil.settings): the keys of toil.yaml's lint:
// section.
type Settings struct {
	Enable          []string `json:"enable"`
	Disable         []string `json:"disable"`
	CommandPatterns []string `json:"command-patterns"`
	DumpTests       bool     `json:"dump-tests"`
}

// Plugin is toil's golangci-lint plugin.
type Plugin struct {
	settings analyzers.Settings
}

var _ register.LinterPlugin = (*Plugin)(nil)

// New returns the plugin configured by conf, the settings golangci-lint
// read from .golangci.yml. Unknown keys, unknown rules and bad patterns are
// errors, so a typo does not silently lint with the defaults.
func New(conf any) (register.LinterPlugin, error) {
	s, err := register.DecodeSettings[Settings](conf)
	if err != nil {
		return nil, fmt.Errorf("linters.settings.custom.%s.settings: %w (known keys: command-patterns, disable, dump-tests, enable)", Name, err)
	}
	p := &Plugin{settings: analyzers.Settings{
		Enable:          s.Enable,
		Disable:         s.Disable,
		CommandPatterns: s.CommandPatterns,
		DumpTests:       s.DumpTests,
	}}
	if _, err := p.settings.Analyzers(); err != nil {
		return nil, fmt.Errorf("linters.settings.custom.%s.settings: %w", Name, err)
	}
	return p, nil
}

// BuildAnalyzers returns the configured rules and the directives checker.
func (p *Plugin) BuildAnalyzers() ([]*analysis.Analyzer, error) {
	return p.settings.Analyzers()
}

// GetLoadMode says the analyzers need type information: they resolve every
// callee through it rather than matching source text.
func (p *Plugin) GetLoadMode() string {
	return register.LoadModeTypesInfo
}
